"""Property: for any sequence of takes and voids (cash with change, checks, cards), the close-out's
expected figures are the float plus what was taken minus what was voided, per tender — and a
count of exactly those figures closes balanced. Real journal and drawer store; a stand-in for the
counter's payment reader (the figures' only other input); one fixed clock."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.adapters.journal import NewEntry, SqliteJournal
from console.config import sandbox_profile
from console.services.counter_models import CounterPayment
from console.services.drawer import DrawerService
from console.services.drawer_store import DrawerStore
from console.services.operators import OperatorService

AT = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)
cents = st.integers(min_value=1, max_value=500_000).map(lambda c: Decimal(c) / 100)
step = st.tuples(st.sampled_from(["CASH", "CHECK", "CARD"]), cents, st.integers(0, 5000), st.booleans(),
                 st.sampled_from(["posted", "queued", "declined"]))


class Payments:
    """What CounterService.payment(key) answers, for the keys this test journaled."""

    def __init__(self):
        self.by_key: dict[str, CounterPayment] = {}

    def payment(self, key):
        return self.by_key.get(key)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(float_cents=st.integers(0, 100_000), steps=st.lists(step, max_size=25))
def test_expected_figures_are_the_sum_of_what_was_taken(tmp_path_factory, float_cents, steps):
    db = tmp_path_factory.mktemp("drawer") / "journal.sqlite"
    journal = SqliteJournal(db)
    profile = sandbox_profile()
    drawers = DrawerService(store=DrawerStore(db), journal=journal, profile=profile,
                            operators=OperatorService(profile), clock=lambda: AT, workstation="ws")
    try:
        session = drawers.open_drawer("cashier1", str(Decimal(float_cents) / 100))
        counter = Payments()
        want = {"CASH": Decimal(float_cents) / 100, "CHECK": Decimal("0"), "CARD": Decimal("0")}
        for i, (tender, amount, extra_cents, voided, state) in enumerate(steps):
            kind = "card_auth" if tender == "CARD" else "receipt"
            key = f"{'ctr' if tender == 'CARD' else 'ctr-' + tender.lower()}:20261207:K{i:06d}"
            journal.add_entry(NewEntry(key, kind, {"drawer": session.session_id, "amount": str(amount)}),
                              operator="cashier1")
            change = Decimal(extra_cents) / 100 if tender == "CASH" else None
            final = "voided" if voided and state != "declined" else state
            counter.by_key[key] = CounterPayment(key, AT.replace(tzinfo=None), "100001-01", "N", amount, "", "", "",
                                                 "", "5.1", "cashier1", final, tender=tender, change=change,
                                                 tendered=amount + change if change is not None else None,
                                                 check_number="1" if tender == "CHECK" else "")
            if final in ("posted", "queued"):
                want[tender] += amount  # taken and kept; change never counts, a void gives it back
        fig = drawers.figures(drawers.current("cashier1"), counter)
        assert fig.expected() == {"cash": want["CASH"], "checks": want["CHECK"], "cards": want["CARD"]}
        taken = sum((v.amount for v in fig.receipts.values()), Decimal("0"))
        voided = sum((v.amount for v in fig.voids.values()), Decimal("0"))
        assert taken - voided + session.float_total == sum(fig.expected().values())
        out = drawers.close_drawer("cashier1", counter, cash=str(want["CASH"]), checks=str(want["CHECK"]))
        assert out.status == "balanced"
    finally:
        drawers.close()
        journal.close()
