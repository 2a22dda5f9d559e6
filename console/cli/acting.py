"""Who is acting on the command line: the one helper every command that acts uses.

A command that acts (post, send, build, sync, override; the drawer commands) is wrapped with
:func:`acting`: before it runs, the operator is taken from ``--operator``, else
``$BILLER_CONSOLE_OPERATOR``, else the profile's automation operator (``[roles]
automation_operator``, for unattended jobs); their PIN from ``$BILLER_CONSOLE_PIN``, else (for
the automation operator) its secret in the keyring, else asked on a terminal. The PIN goes
through the one PIN check of ``console.services.operators`` (path ``cli``), so a wrong PIN counts
toward the same persistent lockout as the sign-in dialog.

Exit codes: the role may not do the action → **77** and one line
``not permitted: <role> may not <action label>``; a missing or wrong PIN, an unknown or locked
operator → **1** (never 77). Read-only commands and modes (``check``, ``--dry-run``,
``diagnose``, ``--report``, ``swipe parse``, ``bills index``) and ``sandbox`` are not wrapped.

A command that decides inside itself (``conveyances sync`` signs in only when it will send)
calls :func:`sign_in` instead of the decorator; its ``NotPermitted`` is exit 77, anything else
about the sign-in exit 1. A change that needs confirmation is confirmed by ``--yes``,
``$BILLER_CONSOLE_ASSUME_YES=1`` or a ``y`` typed on a terminal (:func:`confirmed`).
"""

from __future__ import annotations

import functools
import getpass
import os
import sys
from collections.abc import Callable, Sequence

from console.cli.exit_codes import INVALID as EXIT_NO_OPERATOR
from console.cli.exit_codes import NOT_PERMITTED as EXIT_NOT_PERMITTED
from console.errors import NotPermitted, UserFacingError

__all__ = ["EXIT_NOT_PERMITTED", "acting", "add_operator_argument", "confirmed", "operator_id", "sign_in"]
ENV_OPERATOR = "BILLER_CONSOLE_OPERATOR"
ENV_PIN = "BILLER_CONSOLE_PIN"

Actions = str | Sequence[str] | Callable[..., "str | Sequence[str] | None"] | None


class NotSignedIn(UserFacingError):
    """No operator named, no PIN to be had, or the PIN check refused."""


def add_operator_argument(parser) -> None:
    parser.add_argument("--operator", default=None, metavar="ID",
                        help=f"the operator acting (default: ${ENV_OPERATOR}, else the profile's automation "
                             f"operator); PIN from ${ENV_PIN}, else asked on a terminal")


def operator_id(args, profile=None, environ=os.environ) -> str:
    named = (getattr(args, "operator", None) or environ.get(ENV_OPERATOR) or "").strip()
    if named:
        return named
    automation = str(profile.get("roles_automation_operator") or "").strip() if profile is not None else ""
    if automation:
        return automation
    if profile is None:  # only naming who asks (build_services' operator_id), before the check
        return ""
    raise NotSignedIn(f"No operator: give --operator ID or set {ENV_OPERATOR} (and {ENV_PIN})",
                      hint="the sandbox's demo operators are cashier1, clerk1, support1 and super1")


def read_pin(services, op_id: str, *, environ=os.environ, stdin=None, ask=getpass.getpass) -> str:
    """``$BILLER_CONSOLE_PIN``; for the automation operator its keyring secret; else the terminal."""
    pin = environ.get(ENV_PIN)
    if pin is not None:
        return pin
    op = services.profile.operator(op_id)
    if op is not None and op.role == "automation":
        from console.secrets import AUTOMATION_SECRET

        secret = services.secrets.get(AUTOMATION_SECRET)
        if secret:
            return secret
        raise NotSignedIn(f"No secret for the automation operator {op_id} in the keyring",
                          hint="a supervisor stores it in Settings › Credentials")
    stdin = stdin if stdin is not None else sys.stdin
    if stdin is not None and stdin.isatty():
        return ask(f"PIN for {op_id}: ")
    try:
        line = stdin.readline().strip() if stdin is not None else ""  # a script may pipe the PIN in
    except (OSError, ValueError):  # no readable standard input at all
        line = ""
    if line:
        return line
    raise NotSignedIn(f"No PIN for {op_id}: set {ENV_PIN}, pipe it in, or run on a terminal")


def authenticate(args, services, actions: Sequence[str], *, environ=os.environ, stdin=None,
                 ask=getpass.getpass):
    """The acting ``Operator`` after the PIN check; ``NotPermitted`` when their role may not do
    one of ``actions``; ``NotSignedIn`` / ``SignInError`` for anything about who they are."""
    op_id = operator_id(args, services.profile, environ)
    pin = read_pin(services, op_id, environ=environ, stdin=stdin, ask=ask)
    op = services.operators.sign_in(op_id, pin, path="cli").operator
    for action in actions:
        services.operators.require(op, action)
    return op


def _actions(spec: Actions, args) -> list[str]:
    value = spec(args) if callable(spec) else spec
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def acting(spec: Actions) -> Callable:
    """Wrap a command ``fn(args)``: check who acts for the action(s) ``spec`` names (a name, a
    list, or a function of ``args`` returning them; none = a read-only run), then set
    ``args.operator`` to the verified operator's ID and run the command."""

    def wrap(fn: Callable[..., int]) -> Callable[..., int]:
        @functools.wraps(fn)
        def run(args) -> int:
            actions = _actions(spec, args)
            if not actions:
                return fn(args)
            from console.app import build_services

            try:
                services = build_services(getattr(args, "profile", None))
            except UserFacingError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_NO_OPERATOR
            try:
                op = authenticate(args, services, actions)
            except NotPermitted as exc:
                print(f"not permitted: {exc.message}", file=sys.stderr)
                return EXIT_NOT_PERMITTED
            except UserFacingError as exc:  # NotSignedIn, SignInError (wrong PIN, locked)
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_NO_OPERATOR
            finally:
                services.close()
            args.operator = op.operator_id
            return fn(args)

        return run

    return wrap


def sign_in(services, args, action: str) -> str:
    """The acting operator's ID after their PIN and role are checked, for a command that signs
    in itself: ``NotPermitted`` (exit 77) when the role may not do ``action``; ``NotSignedIn``
    or ``SignInError`` (exit 1) when the operator or PIN is missing or wrong."""
    return authenticate(args, services, [action]).operator_id


def confirmed(args, question: str) -> bool:
    if getattr(args, "yes", False) or os.environ.get("BILLER_CONSOLE_ASSUME_YES", "") == "1":
        return True
    if not sys.stdin.isatty():
        return False
    try:
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")
    except EOFError:
        return False
