"""One PIN check for every path, with wrong PINs counted in the journal: the lockout survives a
restart, is shared by every console (process) on the journal, covers the supervisor approval
of voids, and every failure and lockout is in the audit log."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal

import pytest

from console.adapters.journal import SqliteJournal
from console.config import Operator, Profile, hash_pin, sandbox_profile
from console.domain.models import Receipt
from console.services.audit import AuditLog
from console.services.operators import LOCKOUT_S, MAX_FAILURES, OperatorService, SignInError
from console.services.posting import PostingService

T0 = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC).timestamp()  # the one clock of these tests


def fast_profile() -> Profile:
    fast = lambda pin: hash_pin(pin, iterations=1000)  # noqa: E731 - quick hashes for tests
    return Profile("sandbox", sandbox_profile().values, {}, (
        Operator("cashier1", "Casey", "cashier", fast("1111")),
        Operator("super1", "Sam", "supervisor", fast("9999")),
    ))


# A second console: its own process, its own journal connection, the test's clock.
SCRIPT = """
import sys
from pathlib import Path
from console.adapters.journal import SqliteJournal
from console.services.operators import OperatorService, SignInError
from tests.integration.test_pin_lockout import fast_profile
journal = SqliteJournal(Path(sys.argv[1]))
svc = OperatorService(fast_profile(), failures=journal, clock=lambda: float(sys.argv[2]))
for pin in sys.argv[3:]:
    try:
        svc.sign_in("cashier1", pin)
        print("ok")
    except SignInError as exc:
        print("locked" if "Too many" in exc.message else "wrong")
journal.close()
"""


def other_console(path, at: float, *pins: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(path), repr(at), *pins], capture_output=True,
                         text=True, timeout=120, check=True)
    return out.stdout.split()


def test_lockout_is_shared_by_two_processes_and_survives_a_restart(tmp_path):
    path = tmp_path / "journal.sqlite3"
    # three wrong PINs in another console, two here: the fifth locks the ID everywhere
    assert other_console(path, T0, "0000", "0001", "0002") == ["wrong"] * 3
    journal = SqliteJournal(path)
    audit = AuditLog(path)
    svc = OperatorService(fast_profile(), audit, failures=journal, clock=lambda: T0 + 10)
    with pytest.raises(SignInError, match="wrong PIN"):
        svc.sign_in("cashier1", "0003")
    with pytest.raises(SignInError, match="locked"):
        svc.sign_in("cashier1", "0004")
    with pytest.raises(SignInError, match="Too many"):
        svc.sign_in("cashier1", "1111")  # the right PIN waits too
    journal.close()
    # a restarted console (a new process) still sees the lockout, and the right PIN is refused
    assert other_console(path, T0 + 20, "1111") == ["locked"]
    # after the lockout the right PIN is accepted, and that clears the count
    assert other_console(path, T0 + 10 + LOCKOUT_S, "1111", "0000") == ["ok", "wrong"]
    actions = [r.action for r in audit.rows()]
    assert actions.count("operator.sign_in_failed") == 2 and "operator.locked_out" in actions
    assert "operator.pin_locked" in actions
    assert audit.verify().ok
    audit.close()


def test_a_supervisor_unlocks_through_the_same_check(tmp_path):
    journal = SqliteJournal(tmp_path / "journal.sqlite3")
    svc = OperatorService(fast_profile(), failures=journal, clock=lambda: T0)
    for _ in range(MAX_FAILURES):
        with pytest.raises(SignInError):
            svc.sign_in("cashier1", "0000")
    with pytest.raises(SignInError):
        svc.unlock("cashier1", "super1", "1234")  # a wrong supervisor PIN counts for the supervisor
    assert len(journal.pin_failures("super1", T0 - 1)) == 1
    assert svc.unlock("cashier1", "super1", "9999") == MAX_FAILURES
    assert svc.sign_in("cashier1", "1111").operator_id == "cashier1"
    journal.close()


class VoidCaselle:
    """Caselle with one receipt taken by clerk1 yesterday (so a cashier's void needs approval)."""

    def __init__(self):
        self.receipt = Receipt("5.00777", "CTR-1", "100001-01", Decimal("40.00"), "CR20261125",
                               dt.date(2026, 11, 25), "CASH", extra={"status": "POSTED", "createdBy": "clerk1"})
        self.voided: list[str] = []

    def receipt_by_number(self, number):
        return self.receipt if number == self.receipt.receipt_number else None

    def void_receipt(self, number, reason):
        self.voided.append(number)
        return self.receipt


def test_void_approval_is_locked_out_after_repeated_wrong_pins(tmp_path):
    path = tmp_path / "journal.sqlite3"
    journal, audit = SqliteJournal(path), AuditLog(path)
    operators = OperatorService(fast_profile(), audit, failures=journal, clock=lambda: T0)
    caselle = VoidCaselle()
    svc = PostingService(journal, caselle, fast_profile(), audit, today=lambda: dt.date(2026, 11, 26))
    for _ in range(MAX_FAILURES - 1):
        with pytest.raises(SignInError, match="PIN is wrong"):
            svc.void_receipt_manually("5.00777", "DUPLICATE", "entered twice", "cashier1",
                                      supervisor_pin="0000", operators=operators)
    with pytest.raises(SignInError, match="Too many"):
        svc.void_receipt_manually("5.00777", "DUPLICATE", "entered twice", "cashier1",
                                  supervisor_pin="0000", operators=operators)
    with pytest.raises(SignInError, match="Too many"):  # 5 wrong, then the right one: still refused
        svc.void_receipt_manually("5.00777", "DUPLICATE", "entered twice", "cashier1",
                                  supervisor_pin="9999", operators=operators)
    assert caselle.voided == []
    assert "operator.locked_out" in [r.action for r in audit.rows()]
    journal.close()
    audit.close()
