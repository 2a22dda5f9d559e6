"""Secrets for one command-line session, for a machine whose keyring cannot hold them.

Without a secure keyring a production profile has no stored password, so ``invoices send``,
``lockbox send``, ``transfer``… could never authenticate. The operator gives the secrets for
this one run instead, and they are kept in memory only (never in the keyring, a file, the
journal or a log line: each value joins the log filter's redaction set as it is handed out):

- from a file descriptor: ``biller-console --secrets-fd 3 invoices send FILE 3<secrets`` (or
  ``BILLER_CONSOLE_SECRETS_FD=3``), one ``NAME=VALUE`` a line, NAME one of
  ``console.secrets.ALL`` (``transfer_password``, ``smtp_password``, …); blank lines and lines
  starting with ``#`` are skipped. The descriptor is read once, at start, and closed;
- else, on a terminal, a prompt (``getpass``: nothing echoed) the first time a command needs a
  secret the profile does not have.

The sandbox profile brings its own demo credentials and is never asked for.
"""

from __future__ import annotations

import getpass
import os
import sys

from console.errors import Problem, ValidationError
from console.secrets import ALL, LABELS, SessionSource

ENV_FD = "BILLER_CONSOLE_SECRETS_FD"
# commands that may need a credential (a prompt in other commands would only surprise)
PROMPTING = frozenset({"post", "invoices", "lockbox", "transfer", "adjustments", "conversions", "bills", "counter"})


def parse(text: str, origin: str) -> dict[str, str]:
    """``NAME=VALUE`` lines; every bad line is reported with its number (values never are)."""
    given: dict[str, str] = {}
    problems = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or name not in ALL:
            problems.append(Problem(n, "NAME", "secret_name",
                                    f"expected NAME=VALUE with NAME one of {', '.join(ALL)}"
                                    + (f" (not {name[:40]!r})" if sep else "")))
        elif not value:
            problems.append(Problem(n, name, "required", f"{name} is empty"))
        else:
            given[name] = value
    if problems:
        raise ValidationError(f"The secrets given on {origin} cannot be used", problems)
    return given


def read_fd(fd: int) -> dict[str, str]:
    origin = f"file descriptor {fd}"
    try:
        with os.fdopen(fd, "r", encoding="utf-8", errors="strict", closefd=True) as f:
            text = f.read(1 << 20)
    except (OSError, ValueError) as exc:  # not open, a directory, not UTF-8
        raise ValidationError(f"Cannot read the secrets from {origin}",
                              [Problem(None, None, "secrets_fd", str(exc))]) from None
    return parse(text, origin)


def fd_from(option: int | None) -> int | None:
    if option is not None:
        return option
    raw = os.environ.get(ENV_FD, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise ValidationError(f"${ENV_FD} must be a file descriptor number",
                              [Problem(None, ENV_FD, "secrets_fd", f"{raw[:20]!r} is not a number")])
    return int(raw)


def build_source(fd: int | None, *, prompt: bool) -> SessionSource:
    """The store's session source: what the descriptor gave, else a terminal prompt."""
    given = read_fd(fd) if fd is not None else {}

    def source(profile: str, name: str) -> str | None:
        if profile == "sandbox":
            return None
        if name in given:
            return given[name]
        if not prompt or fd is not None or not sys.stdin.isatty():
            return None
        label = LABELS.get(name, name)
        try:
            return getpass.getpass(f"{label} for profile {profile} (kept for this session only, not stored): ") \
                or None
        except (EOFError, KeyboardInterrupt):
            return None

    return source
