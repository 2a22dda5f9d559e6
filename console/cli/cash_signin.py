"""Who acts on a cash-day command: the operator (and a supervisor) proven by their PIN.

The operator signs in through the shared :func:`console.cli.acting.sign_in` (``--operator`` or
``$BILLER_CONSOLE_OPERATOR``, the PIN from ``$BILLER_CONSOLE_PIN`` or asked; the role checked for
the command's action); a ``--supervisor``'s PIN comes from ``$BILLER_CONSOLE_SUPERVISOR_PIN`` or is
asked (as ``post --override`` does). Refusals of role or PIN exit 77 (``exit_codes.NOT_PERMITTED``).
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


def signed_in_operator(args, services, action: str) -> str:
    """The operator ID after their PIN and their role for ``action`` were checked (audited)."""
    from console.cli.acting import sign_in

    if not (getattr(args, "operator", "") or os.environ.get("BILLER_CONSOLE_OPERATOR", "")).strip():
        raise NotPermitted("who is acting? give --operator ID or set BILLER_CONSOLE_OPERATOR")
    return sign_in(services, args, action)


def supervisor_pin(args) -> tuple[str, str | None]:
    """(supervisor ID, PIN) when ``--supervisor`` was given, else ("", None)."""
    sup = (getattr(args, "supervisor", "") or "").strip()
    if not sup:
        return "", None
    return sup, _pin("BILLER_CONSOLE_SUPERVISOR_PIN", sup)


def refusal_code(exc: BaseException) -> int:
    """77 when the role or the PIN refused it, else 1 (refused or invalid)."""
    from console.cli.exit_codes import INVALID, NOT_PERMITTED

    return NOT_PERMITTED if isinstance(exc, NotPermitted) else INVALID
