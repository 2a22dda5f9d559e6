"""The cash day's test environment: the sandbox's Caselle and Invoice Cloud stand-ins over real
sockets, one SQLite journal file (journal, audit, drawers) and one fixed clock for every date."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

from console.adapters.caselle import CaselleClient
from console.adapters.gateway import GatewayClient
from console.adapters.journal import SqliteJournal
from console.config import sandbox_profile
from console.devices.sred import parse_frame
from console.sandbox import seed
from console.sandbox.invoicecloud_server import DEMO_WEB_SERVICE_KEY
from console.services.audit import AuditLog
from console.services.counter import CounterService
from console.services.drawer import DrawerService
from console.services.drawer_store import DrawerStore
from console.services.operators import OperatorService
from console.services.posting import PostingService, RetryPolicy
from tests.swipe_frames import FrameSpec, build_frame

PINS = {"cashier1": "1111", "clerk1": "2222", "super1": "9999"}
_ksn = itertools.count(0x3100)


def swipe(**spec):
    spec.setdefault("ksn", f"62994900000000B{next(_ksn):05X}")
    return parse_frame(build_frame(FrameSpec(**spec)))


class Clock:
    """The one clock of a test: every date and time the services see comes from here."""

    def __init__(self, at: dt.datetime):
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def today(self) -> dt.date:
        return self.at.date()

    def advance(self, **delta) -> None:
        self.at = self.at + dt.timedelta(**delta)


@dataclass
class CashEnv:
    clock: Clock
    journal: SqliteJournal
    audit: AuditLog
    operators: OperatorService
    drawers: DrawerService
    profile: object
    caselle_url: str
    token: object
    ic_url: str

    def counter(self, operator: str = "cashier1") -> CounterService:
        caselle = CaselleClient(self.caselle_url, self.token, timeout=5, operator=operator)
        posting = PostingService(self.journal, caselle, self.profile, self.audit,
                                 retry=RetryPolicy(base_s=0.05, cap_s=0.1))
        gateway = GatewayClient(self.ic_url, DEMO_WEB_SERVICE_KEY, timeout=2.0)
        return CounterService(caselle=caselle, gateway=gateway, journal=self.journal, posting=posting,
                              profile=self.profile, audit=self.audit, operators=self.operators,
                              drawers=self.drawers, today=self.clock.today, find_pause_s=0.05)

    def close(self) -> None:
        self.drawers.close()
        self.journal.close()
        self.audit.close()


def make_env(tmp_path, caselle_server, ic_server, token, *, at: dt.datetime | None = None, **settings) -> CashEnv:
    clock = Clock(at or dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC))
    profile = sandbox_profile().with_values(**settings) if settings else sandbox_profile()
    db = tmp_path / "journal.sqlite"
    journal = SqliteJournal(db)
    audit = AuditLog(db)
    operators = OperatorService(profile, audit)
    drawers = DrawerService(store=DrawerStore(db), journal=journal, profile=profile, operators=operators,
                            audit=audit, clock=clock, workstation="ws-1")
    return CashEnv(clock, journal, audit, operators, drawers, profile, caselle_server.url, token, ic_server.url)


_accounts = iter(seed.demo_customers())


def account_with_due(svc, minimum: Decimal = Decimal("5.00")):
    """A fresh demo account (each test pays a different one) with something due."""
    for c in _accounts:
        if c.amount_due > minimum:
            return svc.account(c.account_number)
    raise AssertionError("out of demo accounts")


def card_amount(account) -> Decimal:
    """The amount due, moved off the sandbox gateway's test cents (.01–.05 decline or stall)."""
    due = account.amount_due
    return due + Decimal("0.10") if due % 1 in {Decimal(f"0.0{i}") for i in range(1, 6)} else due



def pdf_text(path) -> str:
    """Every page's text (pypdfium2), as a person reading the PDF sees it."""
    import pypdfium2

    pdf = pypdfium2.PdfDocument(str(path))
    try:
        return "\n".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))
    finally:
        pdf.close()


def day_close_service(env: CashEnv, counter: CounterService):
    from console.services.day_close import DayCloseService

    return DayCloseService(journal=env.journal, audit=env.audit, drawers=env.drawers, counter=counter,
                           profile=env.profile, operators=env.operators, caselle=counter.caselle)


def reversal_service(env: CashEnv, counter: CounterService):
    from console.services.reversals import ReversalService

    return ReversalService(journal=env.journal, posting=counter.posting, counter=counter, operators=env.operators,
                           profile=env.profile, audit=env.audit, today=env.clock.today)
