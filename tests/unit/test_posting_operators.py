"""Operator sign-in, lockout, supervisor approval and role permissions (PINs from the profile)."""

from __future__ import annotations

import pytest

from console.config import Operator, hash_pin, sandbox_profile
from console.errors import NotPermitted
from console.services.operators import MAX_FAILURES, OperatorService, SignInError


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Audit:
    def __init__(self):
        self.rows = []

    def record(self, operator, action, subject="", **details):
        self.rows.append((operator, action, subject, details))


def _service(clock=None):
    fast = lambda pin: hash_pin(pin, iterations=1000)  # noqa: E731 - quick hashes for tests
    profile = sandbox_profile()
    profile = type(profile)(profile.name, profile.values, profile.gl_map, (
        Operator("cashier1", "Casey", "cashier", fast("1111")),
        Operator("super1", "Sam", "supervisor", fast("9999")),
        Operator("support1", "Pat", "support", fast("3333")),
    ))
    audit = Audit()
    return OperatorService(profile, audit, clock=clock or Clock()), audit


def test_sign_in_checks_pin_and_audits():
    svc, audit = _service()
    signed = svc.sign_in("cashier1", "1111")
    assert signed.role == "cashier" and signed.operator_id == "cashier1"
    with pytest.raises(SignInError, match="wrong PIN"):
        svc.sign_in("cashier1", "1112")
    with pytest.raises(SignInError):
        svc.sign_in("nobody", "1111")
    actions = [a for _, a, _, _ in audit.rows]
    assert actions == ["operator.sign_in", "operator.sign_in_failed", "operator.sign_in_failed"]
    assert all("1111" not in str(r) and "1112" not in str(r) for r in audit.rows)  # PINs never logged


def test_lockout_after_repeated_wrong_pins_then_expires():
    clock = Clock()
    svc, _ = _service(clock)
    for _ in range(MAX_FAILURES):
        with pytest.raises(SignInError):
            svc.sign_in("cashier1", "0000")
    with pytest.raises(SignInError, match="Too many"):
        svc.sign_in("cashier1", "1111")  # even the right PIN waits
    clock.t += 301
    assert svc.sign_in("cashier1", "1111").role == "cashier"


def test_supervisor_approval():
    svc, audit = _service()
    assert svc.approve("super1", "9999", for_action="file.override", by="cashier1").operator_id == "super1"
    with pytest.raises(NotPermitted, match="not a supervisor"):
        svc.approve("cashier1", "1111", for_action="file.override", by="cashier1")
    with pytest.raises(SignInError):
        svc.approve("super1", "1234", for_action="file.override")
    assert ("super1", "operator.approve", "file.override", {"by": "cashier1"}) in audit.rows


@pytest.mark.parametrize(("who", "action", "allowed"), [
    ("cashier1", "take_payment", True), ("cashier1", "post", False), ("cashier1", "override", False), ("cashier1", "void_any", False),
    ("super1", "override", True), ("super1", "void_any", True), ("support1", "view_audit", True),
    ("support1", "post", False), ("ghost", "post", False),
])
def test_permissions(who, action, allowed):
    svc, _ = _service()
    assert svc.can(who, action) is allowed
    if not allowed:
        with pytest.raises(NotPermitted):
            svc.require(who, action)
