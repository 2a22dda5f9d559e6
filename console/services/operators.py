"""Operator sign-in and roles: operators (ID, name, role, salted slow PIN hash) come from the profile.

- ``sign_in(operator_id, pin)`` checks the PIN (PBKDF2, constant-time compare), audits success and
  failure, and locks an ID out for a while after repeated wrong PINs.
- ``approve(supervisor_id, pin)`` is the supervisor's countersignature for a protected action
  (override, void of another's receipt): the supervisor enters their own ID and PIN.
- ``can(operator, action)`` says what a role may do.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from console.config import Operator, Profile
from console.errors import NotPermitted, UserFacingError

MAX_FAILURES = 5
LOCKOUT_S = 300.0

#: What each role may do. Supervisors may do everything.
PERMISSIONS: dict[str, frozenset[str]] = {
    "cashier": frozenset({"take_payment", "void_own_same_day", "post", "drawer"}),
    "clerk": frozenset({"take_payment", "void_own_same_day", "post", "import", "retry", "account_sync",
                        "send_bills", "drawer", "view_day_close"}),
    "support": frozenset({"diagnostics", "view_audit"}),
    "supervisor": frozenset({"take_payment", "void_own_same_day", "void_any", "post", "import", "retry",
                             "override", "resolve_review", "settings", "diagnostics", "view_audit",
                             "account_sync", "send_bills", "drawer", "reopen_drawer", "view_all_drawers",
                             "reverse_payment", "day_close", "view_day_close"}),
}


class SignInError(UserFacingError):
    """Wrong operator ID or PIN, or the ID is locked for a while."""


@dataclass(frozen=True)
class SignedIn:
    operator: Operator
    at: float

    @property
    def operator_id(self) -> str:
        return self.operator.operator_id

    @property
    def role(self) -> str:
        return self.operator.role


class OperatorService:
    def __init__(self, profile: Profile, audit=None, *, clock=time.monotonic):
        self.profile = profile
        self.audit = audit
        self._clock = clock
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    @property
    def operators(self) -> tuple[Operator, ...]:
        return self.profile.operators

    def get(self, operator_id: str) -> Operator | None:
        return self.profile.operator(operator_id)

    def _locked_for(self, operator_id: str) -> float:
        now = self._clock()
        with self._lock:
            recent = [t for t in self._failures.get(operator_id, []) if now - t < LOCKOUT_S]
            self._failures[operator_id] = recent
            if len(recent) >= MAX_FAILURES:
                return LOCKOUT_S - (now - recent[-MAX_FAILURES])
        return 0.0

    def _check(self, operator_id: str, pin: str, action: str) -> Operator:
        operator_id = (operator_id or "").strip()
        wait = self._locked_for(operator_id)
        if wait > 0:
            raise SignInError(f"Too many wrong PINs for {operator_id}: try again in {int(wait) + 1} s")
        op = self.get(operator_id)
        if op is None or not op.check_pin(pin or ""):
            with self._lock:
                self._failures.setdefault(operator_id, []).append(self._clock())
            if self.audit is not None:
                self.audit.record(operator_id or "?", f"{action}_failed", operator_id)
            raise SignInError("Unknown operator ID or wrong PIN")
        with self._lock:
            self._failures.pop(operator_id, None)
        return op

    def sign_in(self, operator_id: str, pin: str) -> SignedIn:
        op = self._check(operator_id, pin, "operator.sign_in")
        if self.audit is not None:
            self.audit.record(op.operator_id, "operator.sign_in", op.operator_id, role=op.role)
        return SignedIn(op, time.time())

    def approve(self, supervisor_id: str, pin: str, *, for_action: str, by: str = "") -> Operator:
        """A supervisor's ID + PIN approving ``for_action`` done by ``by``."""
        op = self._check(supervisor_id, pin, "operator.approve")
        if op.role != "supervisor":
            if self.audit is not None:
                self.audit.record(op.operator_id, "operator.approve_refused", for_action, by=by, role=op.role)
            raise NotPermitted(f"{op.name} is not a supervisor and cannot approve this")
        if self.audit is not None:
            self.audit.record(op.operator_id, "operator.approve", for_action, by=by)
        return op

    def can(self, operator: Operator | str | None, action: str) -> bool:
        op = self.get(operator) if isinstance(operator, str) else operator
        if op is None:
            return False
        return action in PERMISSIONS.get(op.role, frozenset())

    def require(self, operator: Operator | str | None, action: str) -> Operator:
        op = self.get(operator) if isinstance(operator, str) else operator
        if op is None or not self.can(op, action):
            role = op.role if op else "no operator"
            raise NotPermitted(f"{role} may not {action.replace('_', ' ')}")
        return op
