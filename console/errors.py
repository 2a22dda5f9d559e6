"""The small error hierarchy every layer raises and the UI sorts by type.

- ``UserFacingError``: its message is meant for the operator, shown as is.
- ``ValidationError``: bad input; carries line / column / rule problems.
- ``RemoteError``: a remote system failed or refused (Caselle, Invoice Cloud, SFTP, SMTP).
- ``Cancelled``: the operator cancelled; shown as nothing.
Anything else is a bug: logged with a reference the operator can quote.
"""

from __future__ import annotations

from dataclasses import dataclass, field


class ConsoleError(Exception):
    """Base of every error the console raises on purpose."""


class UserFacingError(ConsoleError):
    """An error whose message is written for the operator."""

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} ({self.hint})"


class Cancelled(ConsoleError):
    """The operator cancelled a running operation."""


@dataclass(frozen=True)
class Problem:
    """One broken rule in an input: where (line, column) and which rule."""

    line: int | None
    column: str | None
    rule: str
    message: str
    severity: str = "error"  # "error" | "warning"

    def as_dict(self) -> dict:
        return {"line": self.line, "column": self.column, "rule": self.rule, "message": self.message}

    def __str__(self) -> str:
        where = []
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.column:
            where.append(f"column {self.column}")
        loc = ", ".join(where)
        return f"{loc}: {self.message} [{self.rule}]" if loc else f"{self.message} [{self.rule}]"


class ValidationError(UserFacingError):
    """Input that breaks rules; nothing was done with it."""

    def __init__(self, message: str, problems: list[Problem] | None = None, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])


class RemoteError(UserFacingError):
    """A remote system failed, refused or could not be reached."""

    def __init__(self, message: str, *, system: str = "", retryable: bool = False, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.system = system
        self.retryable = retryable


class NetworkError(RemoteError):
    """The remote could not be reached, or the connection dropped (outcome unknown)."""

    def __init__(self, message: str, *, system: str = "", hint: str | None = None):
        super().__init__(message, system=system, retryable=True, hint=hint)


class AuthError(RemoteError):
    """Credentials were refused or the token expired."""


class UnsupportedVersionError(RemoteError):
    """The remote API version lacks the feature asked for."""


class NotPermitted(UserFacingError):
    """The signed-in operator's role does not allow this."""


@dataclass
class ErrorReport:
    """What the UI shows for an error: a title, a message and an optional reference."""

    title: str
    message: str
    reference: str | None = None
    details: list[str] = field(default_factory=list)
