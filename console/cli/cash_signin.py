"""Who acts on a cash-day command: the operator (and a supervisor) proven by their PIN.

The conventions of the operator-trust issue, kept in one place so they can be centralized:
the operator ID from ``--operator`` or ``$BILLER_CONSOLE_OPERATOR``, the PIN from
``$BILLER_CONSOLE_PIN`` or asked on the terminal; a ``--supervisor``'s PIN from
``$BILLER_CONSOLE_SUPERVISOR_PIN`` or asked (as ``post --override`` does).
"""

from __future__ import annotations

import getpass
import os
import sys

from console.errors import NotPermitted


def add_operator_options(p, *, supervisor: bool = False) -> None:
    p.add_argument("--operator", default=os.environ.get("BILLER_CONSOLE_OPERATOR", ""),
                   help="operator ID (default: $BILLER_CONSOLE_OPERATOR); PIN from $BILLER_CONSOLE_PIN or asked")
    if supervisor:
        p.add_argument("--supervisor", default="",
                       help="supervisor ID approving (PIN from $BILLER_CONSOLE_SUPERVISOR_PIN or asked)")


def _pin(variable: str, who: str) -> str:
    pin = os.environ.get(variable)
    if pin is None:
        if not sys.stdin.isatty():
            raise NotPermitted(f"no PIN for {who}: set {variable} or run interactively")
        pin = getpass.getpass(f"PIN for {who}: ")
    return pin


def signed_in_operator(args, services) -> str:
    """The operator ID after their PIN was checked (audited by the operator service)."""
    operator = (getattr(args, "operator", "") or "").strip()
    if not operator:
        raise NotPermitted("who is acting? give --operator ID or set BILLER_CONSOLE_OPERATOR")
    return services.operators.sign_in(operator, _pin("BILLER_CONSOLE_PIN", operator)).operator_id


def supervisor_pin(args) -> tuple[str, str | None]:
    """(supervisor ID, PIN) when ``--supervisor`` was given, else ("", None)."""
    sup = (getattr(args, "supervisor", "") or "").strip()
    if not sup:
        return "", None
    return sup, _pin("BILLER_CONSOLE_SUPERVISOR_PIN", sup)
