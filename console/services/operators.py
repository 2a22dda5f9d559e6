"""Operators, roles and the one PIN check.

Operators (ID, name, role, salted slow PIN hash) come from the profile.

- ``ACTIONS`` declares every protected action once, with the label messages use
  ("not permitted: cashier may not send the invoice file"); ``PERMISSIONS`` says which
  roles may do each by default. A profile may narrow a role (``roles_<role>_actions``) and
  gives the ``automation`` role (unattended jobs) its actions.
- ``require(profile, operator, action)`` is what every service method that performs a
  protected action calls first: it raises ``NotPermitted`` whoever the caller (GUI, CLI or a
  scheduled job). ``can`` answers the same question for showing buttons.
- ``OperatorService.verify(operator_id, pin, path=…)`` is the one PIN check of every path
  (sign-in, supervisor approval for voids and overrides, unlock, the command line). Wrong
  PINs are counted in the journal (table ``pin_failures``), so a lockout survives a restart
  and is shared by every console on the same journal; each failure and each lockout is audited.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Protocol

from console.config import ROLES, Operator, Profile
from console.errors import NotPermitted, UserFacingError

MAX_FAILURES = 5
LOCKOUT_S = 300.0
wall_clock = time.time  # seconds since the epoch, shared by every console on a journal (tests replace it)

#: Every protected action and how messages name it ("<role> may not <label>").
ACTIONS: dict[str, str] = {
    "take_payment": "take a counter payment",
    "void_own_same_day": "void their own same-day receipt",
    "void_any": "void another operator's or an older receipt",
    "drawer": "open or close their own drawer",
    "post": "post payments to Caselle",
    "import": "import a file for posting",
    "send_invoices": "send the invoice file",
    "build_lockbox": "build a lockbox file",
    "send_lockbox": "send a lockbox file",
    "edit_gl_map": "edit the GL mapping",
    "edit_bill_templates": "edit bill templates",
    "send_bills": "send bill images",
    "account_sync": "send account balance updates",
    "conversions": "build or send a conversion file",
    "override": "override a duplicate-file or resend refusal",
    "resolve_review": "resolve entries waiting for review",
    "settings": "change settings",
    "diagnostics": "run diagnostics",
    "support_bundle": "make a support bundle",
    "view_audit": "view the audit log",
    # the cashier's day (console/services/drawer.py)
    "view_day_close": "view the day close",
    "reopen_drawer": "reopen a closed drawer",
    "view_all_drawers": "view every operator's drawer",
    "reverse_payment": "reverse a payment",
    "day_close": "close the day",
}

_COUNTER = frozenset({"take_payment", "void_own_same_day", "drawer"})
_BILLING = frozenset({"post", "import", "send_invoices", "build_lockbox", "send_lockbox", "edit_bill_templates",
                      "send_bills", "account_sync", "conversions"})

#: What each role may do by default. Supervisors may do everything; ``automation`` (the
#: operator unattended jobs run as) may do only what the profile gives it.
PERMISSIONS: dict[str, frozenset[str]] = {
    "cashier": _COUNTER,
    "clerk": _COUNTER | _BILLING | {"view_day_close"},
    "support": frozenset({"diagnostics", "support_bundle", "view_audit"}),
    "supervisor": frozenset(ACTIONS),
    "automation": frozenset(),
}
assert set(PERMISSIONS) == set(ROLES), "every role of console.config.ROLES has its permissions"

#: The operator a profile without operators acts as while a supervisor sets it up (audited).
SETUP_OPERATOR = Operator("setup", "Set-up (no operators yet)", "supervisor")

#: Who runs the command line's read-only ``diagnose`` (it needs no operator): it may run the
#: checks and write a support bundle (``diagnose --bundle``), nothing else.
READ_ONLY_ROLE = "read_only"
COMMAND_LINE_READ_ONLY = Operator("command-line", "Command line (read-only)", READ_ONLY_ROLE)
_READ_ONLY_ACTIONS = frozenset({"diagnostics", "support_bundle"})


def label(action: str) -> str:
    return ACTIONS[action]


def role_actions(profile: Profile, role: str) -> frozenset[str]:
    """The actions ``role`` may do under ``profile``: the role's default, narrowed by the
    profile's ``roles_<role>_actions`` when that lists any (the automation role: exactly the list)."""
    if role == READ_ONLY_ROLE:
        return _READ_ONLY_ACTIONS
    default = PERMISSIONS.get(role, frozenset())
    listed = profile.get(f"roles_{role}_actions") if role in ROLES else []
    if role == "automation":
        return frozenset(a for a in listed if a in ACTIONS and a != "settings")
    if not listed:
        return default
    return default & frozenset(listed)


def resolve(profile: Profile, operator: Operator | str | None) -> Operator | None:
    """The acting operator: an ``Operator``, or an ID of the profile's (``setup`` while the
    profile has no operators yet)."""
    if isinstance(operator, Operator):
        return operator
    op_id = (operator or "").strip()
    if not op_id:
        return None
    found = profile.operator(op_id)
    if found is None and not profile.operators and op_id == SETUP_OPERATOR.operator_id:
        return SETUP_OPERATOR
    return found


def can(profile: Profile, operator: Operator | str | None, action: str) -> bool:
    if action not in ACTIONS:
        raise KeyError(f"unknown protected action {action!r}")
    op = resolve(profile, operator)
    return op is not None and action in role_actions(profile, op.role)


def refusal(profile: Profile, operator: Operator | str | None, action: str) -> str:
    """Why ``operator`` may not do ``action`` ("cashier may not post payments to Caselle"), or ""."""
    if can(profile, operator, action):
        return ""
    op = resolve(profile, operator)
    if op is None:
        who = str(operator or "").strip()
        return f"{who or 'nobody'} is not an operator of this profile and may not {label(action)}"
    return f"{op.role} may not {label(action)}"


def require(profile: Profile, operator: Operator | str | None, action: str, audit=None) -> Operator:
    """The acting operator, or ``NotPermitted`` (audited) when their role may not do ``action``."""
    why = refusal(profile, operator, action)
    if why:
        if audit is not None:
            who = operator.operator_id if isinstance(operator, Operator) else str(operator or "?")
            audit.record(who or "?", "operator.refused", action, why=why)
        exc = NotPermitted(why)
        exc.action = action  # type: ignore[attr-defined]
        raise exc
    return resolve(profile, operator)  # type: ignore[return-value]


#: The protected action each kind of file is sent for (console.services.transfer).
SEND_ACTIONS = {"invoices": "send_invoices", "bills": "send_bills", "lockbox": "send_lockbox",
                "balances": "account_sync", "conversions": "conversions"}


def require_send(profile: Profile | None, operator: Operator | str | None, kind: str, audit=None) -> Operator:
    """``require`` for sending a file of ``kind`` (an unknown kind: supervisors only); no profile
    to check against refuses."""
    if profile is None:
        raise NotPermitted("No profile to check who may send files")
    return require(profile, operator, SEND_ACTIONS.get(kind, "override"), audit)


class SignInError(UserFacingError):
    """Wrong operator ID or PIN, or the ID is locked for a while."""


class PinFailureStore(Protocol):
    """Where wrong PINs are counted: the journal (``SqliteJournal``) in the console."""

    def add_pin_failure(self, operator_id: str, at: float, *, path: str, window_s: float) -> int: ...
    def pin_failures(self, operator_id: str, since: float) -> list[float]: ...
    def clear_pin_failures(self, operator_id: str) -> int: ...


class MemoryPinFailures:
    """A :class:`PinFailureStore` in memory, for tests of screens built without a journal."""

    def __init__(self):
        self._rows: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def add_pin_failure(self, operator_id: str, at: float, *, path: str, window_s: float) -> int:
        with self._lock:
            rows = [t for t in self._rows.get(operator_id, []) if t > at - window_s] + [at]
            self._rows[operator_id] = rows
            return len(rows)

    def pin_failures(self, operator_id: str, since: float) -> list[float]:
        with self._lock:
            return sorted(t for t in self._rows.get(operator_id, []) if t > since)

    def clear_pin_failures(self, operator_id: str) -> int:
        with self._lock:
            return len(self._rows.pop(operator_id, []))


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
    """Sign-in, approvals and unlock through one PIN check with a persistent lockout.

    ``failures`` is the journal in the console (``Services.operators``); ``clock`` is wall
    time (seconds since the epoch), shared with every other console on the journal."""

    def __init__(self, profile: Profile, audit=None, *, failures: PinFailureStore | None = None,
                 clock=None):
        self.profile = profile
        self.audit = audit
        self.failures: PinFailureStore = failures if failures is not None else MemoryPinFailures()
        self._clock = clock if clock is not None else (lambda: wall_clock())

    @property
    def operators(self) -> tuple[Operator, ...]:
        return self.profile.operators

    def get(self, operator_id: str) -> Operator | None:
        return self.profile.operator(operator_id)

    # ---- the one PIN check
    def locked_for(self, operator_id: str) -> float:
        """Seconds until ``operator_id`` may try a PIN again (0 = not locked)."""
        now = self._clock()
        recent = self.failures.pin_failures(operator_id, now - LOCKOUT_S)
        if len(recent) >= MAX_FAILURES:
            return max(0.0, LOCKOUT_S - (now - recent[-MAX_FAILURES]))
        return 0.0

    def verify(self, operator_id: str, pin: str, *, path: str) -> Operator:
        """The operator whose PIN this is, else ``SignInError``. Every path checks PINs here:
        ``path`` (sign_in, approve, override, unlock, cli) is audited with each failure."""
        operator_id = (operator_id or "").strip()
        wait = self.locked_for(operator_id)
        if wait > 0:
            self._audit(operator_id or "?", "operator.pin_locked", operator_id, path=path)
            raise SignInError(f"Too many wrong PINs for {operator_id}: try again in {int(wait) + 1} s",
                              hint="a supervisor can unlock it")
        op = self.get(operator_id)
        if op is None or not op.check_pin(pin or ""):
            count = self.failures.add_pin_failure(operator_id, self._clock(), path=path, window_s=LOCKOUT_S)
            self._audit(operator_id or "?", f"operator.{path}_failed", operator_id, path=path, failures=count)
            if count >= MAX_FAILURES:
                self._audit(operator_id or "?", "operator.locked_out", operator_id, path=path,
                            failures=count, minutes=int(LOCKOUT_S // 60))
                raise SignInError(f"Too many wrong PINs for {operator_id}: locked for {int(LOCKOUT_S // 60)} minutes",
                                  hint="a supervisor can unlock it")
            raise SignInError("Unknown operator ID or wrong PIN")
        self.failures.clear_pin_failures(operator_id)
        return op

    def _audit(self, operator: str, action: str, subject: str, **details) -> None:
        if self.audit is not None:
            self.audit.record(operator, action, subject, **details)

    # ---- paths
    def sign_in(self, operator_id: str, pin: str, *, path: str = "sign_in") -> SignedIn:
        op = self.verify(operator_id, pin, path=path)
        self._audit(op.operator_id, "operator.sign_in", op.operator_id, role=op.role,
                    **({"path": path} if path != "sign_in" else {}))
        return SignedIn(op, self._clock())

    def approve(self, supervisor_id: str, pin: str, *, for_action: str, by: str = "",
                path: str = "approve", action: str = "override") -> Operator:
        """A supervisor's ID + PIN approving ``for_action`` done by ``by``; the approver's role
        must allow ``action`` (``override``; ``void_any`` for voids)."""
        op = self.verify(supervisor_id, pin, path=path)
        if op.role != "supervisor" or not self.can(op, action):
            self._audit(op.operator_id, "operator.approve_refused", for_action, by=by, role=op.role)
            raise NotPermitted(f"{op.name} is not a supervisor and cannot approve this")
        self._audit(op.operator_id, "operator.approve", for_action, by=by)
        return op

    def unlock(self, operator_id: str, supervisor_id: str, pin: str) -> int:
        """A supervisor clears ``operator_id``'s wrong PINs (their own PIN checked, audited)."""
        self.approve(supervisor_id, pin, for_action=f"operator.unlock {operator_id}", path="unlock")
        cleared = self.failures.clear_pin_failures((operator_id or "").strip())
        self._audit(supervisor_id, "operator.unlock", operator_id, cleared=cleared)
        return cleared

    # ---- roles
    def can(self, operator: Operator | str | None, action: str) -> bool:
        return can(self.profile, operator, action)

    def require(self, operator: Operator | str | None, action: str) -> Operator:
        return require(self.profile, operator, action, self.audit)
