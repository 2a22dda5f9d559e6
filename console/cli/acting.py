"""Who acts, for the acting commands (``conveyances sync``, ``bills send``…), and their confirmation.

The operator is ``--operator`` else ``$BILLER_CONSOLE_OPERATOR``; the PIN is
``$BILLER_CONSOLE_PIN``, else asked on a terminal, else the first line of standard input. The
operator signs in (PIN checked, audited, locked out after repeated wrong PINs) and the
operator service's ``require`` checks the role. A profile without operators (a new production
profile) has no roles to check: the operator ID is only recorded.

A change that needs confirmation is confirmed by ``--yes``, ``$BILLER_CONSOLE_ASSUME_YES=1``
or a ``y`` typed on a terminal; without any of them nothing is sent.
"""

from __future__ import annotations

import getpass
import os
import sys

from console.cli.exit_codes import NOT_PERMITTED as EXIT_NOT_PERMITTED
from console.errors import NotPermitted

__all__ = ["EXIT_NOT_PERMITTED", "confirmed", "operator_id", "sign_in"]


def operator_id(args) -> str:
    given = (getattr(args, "operator", "") or os.environ.get("BILLER_CONSOLE_OPERATOR", "")).strip()
    if given:
        return given
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # noqa: BLE001 - no user name on this system
        return "cli"


def _read_pin(operator: str) -> str:
    pin = os.environ.get("BILLER_CONSOLE_PIN")
    if pin is not None:
        return pin
    if sys.stdin.isatty():
        return getpass.getpass(f"PIN for {operator}: ")
    return sys.stdin.readline().strip()


def sign_in(services, args, action: str) -> str:
    """The acting operator's ID after their PIN and role are checked (NotPermitted otherwise)."""
    operator = operator_id(args)
    if not services.profile.operators:
        return operator
    if services.profile.operator(operator) is None:
        raise NotPermitted(f"{operator!r} is not an operator of this profile",
                           hint="pass --operator ID (or set BILLER_CONSOLE_OPERATOR) and the PIN "
                                "(BILLER_CONSOLE_PIN or typed)")
    try:
        signed = services.operators.sign_in(operator, _read_pin(operator))
    except NotPermitted:
        raise
    except Exception as exc:  # noqa: BLE001 - a wrong PIN or a lockout is a refusal here
        raise NotPermitted(str(exc)) from exc
    services.operators.require(signed.operator, action)
    return signed.operator_id


def confirmed(args, question: str) -> bool:
    if getattr(args, "yes", False) or os.environ.get("BILLER_CONSOLE_ASSUME_YES", "") == "1":
        return True
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False
