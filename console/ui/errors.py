"""The one place that decides what the operator sees for an error — sorted by type.

- ``Cancelled`` → nothing.
- ``ValidationError`` → its message, the problems (line / column / rule) and the hint.
- ``NotPermitted`` and any other ``UserFacingError`` → its message and hint.
- ``RemoteError`` (network, auth, unsupported version) → its message with the system named.
- anything else is a bug → logged with a short reference (``E-7F3A2C``) the operator can
  quote, and a plain message; the console keeps running.

``describe_error`` makes that decision without Qt (tested directly); ``show_error`` presents
it in a non-blocking, window-modal ``QMessageBox`` (``objectName`` ``"error-box"``) — tests
find it with ``find_error_boxes()`` — or hands it to an injected ``presenter``.
``install_exception_hooks`` routes uncaught exceptions (GUI thread and other threads) here.
"""

from __future__ import annotations

import logging
import secrets
import sys
import threading
from collections.abc import Callable

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from console.errors import (
    AuthError,
    Cancelled,
    ErrorReport,
    NetworkError,
    NotPermitted,
    RemoteError,
    UnsupportedVersionError,
    UserFacingError,
    ValidationError,
)

log = logging.getLogger("console.errors")

MAX_PROBLEMS_SHOWN = 12
ERROR_BOX_NAME = "error-box"

Presenter = Callable[[QWidget | None, ErrorReport, str], None]  # (parent, report, severity)


def new_reference() -> str:
    return "E-" + secrets.token_hex(3).upper()


def _system(exc: RemoteError) -> str:
    return exc.system or "The remote system"


def _with_system(exc: RemoteError) -> str:
    msg = exc.message
    if exc.system and not msg.lower().startswith(exc.system.lower()):
        msg = f"{exc.system}: {msg}"
    return msg


def log_unexpected(exc: BaseException) -> str:
    """Log an unexpected error once, with a reference; returns that reference."""
    reference = getattr(exc, "console_reference", None)
    if reference:
        return reference
    reference = new_reference()
    try:
        exc.console_reference = reference  # type: ignore[attr-defined]
    except AttributeError:  # exceptions with __slots__
        pass
    log.error("Unexpected error [%s]: %s: %s", reference, type(exc).__name__, exc,
              exc_info=(type(exc), exc, exc.__traceback__))
    return reference


def describe_error(exc: BaseException) -> tuple[ErrorReport, str] | None:
    """(report, severity) for an exception, or None when nothing should be shown.

    Severity is "warning" for errors the operator can act on, "critical" for bugs.
    Unexpected errors are logged here, with the reference that the report shows.
    """
    if isinstance(exc, Cancelled):
        return None
    if isinstance(exc, ValidationError):
        details = [str(p) for p in exc.problems[:MAX_PROBLEMS_SHOWN]]
        if len(exc.problems) > MAX_PROBLEMS_SHOWN:
            details.append(f"… and {len(exc.problems) - MAX_PROBLEMS_SHOWN} more")
        if exc.hint:
            details.append(exc.hint)
        return ErrorReport("Please check the input", exc.message, None, details), "warning"
    if isinstance(exc, NotPermitted):
        return ErrorReport("Not permitted", exc.message, None, [exc.hint] if exc.hint else []), "warning"
    if isinstance(exc, RemoteError):
        if isinstance(exc, AuthError):
            title = f"{_system(exc)} refused the credentials"
        elif isinstance(exc, NetworkError):
            title = f"{_system(exc)} could not be reached"
        elif isinstance(exc, UnsupportedVersionError):
            title = "Not available on this API version"
        else:
            title = f"{_system(exc)} reported an error"
        details = [exc.hint] if exc.hint else []
        if exc.retryable:
            details.append("You can try again; the console checks what already happened before repeating it.")
        return ErrorReport(title, _with_system(exc), None, details), "warning"
    if isinstance(exc, UserFacingError):
        return ErrorReport("Biller Console", exc.message, None, [exc.hint] if exc.hint else []), "warning"
    reference = log_unexpected(exc)
    message = ("Something went wrong inside the console. It was recorded in the log with reference "
               f"{reference} — please quote it when you contact support. The console keeps running; "
               "check the result of what you were doing before repeating it.")
    return ErrorReport("Unexpected error", message, reference, []), "critical"


_UNPARENTED: set[QMessageBox] = set()  # keeps boxes without a parent alive until they close


def _message_box(parent: QWidget | None, report: ErrorReport, severity: str) -> None:
    if parent is not None and not shiboken6.isValid(parent):
        parent = None
    if parent is None:
        parent = QApplication.activeWindow()
    box = QMessageBox(QMessageBox.Icon.Critical if severity == "critical" else QMessageBox.Icon.Warning,
                      report.title, report.message, QMessageBox.StandardButton.Ok, parent)
    box.setObjectName(ERROR_BOX_NAME)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # reference copyable
    if report.details:
        box.setInformativeText("\n".join(f"• {d}" for d in report.details))
    box.setProperty("reference", report.reference or "")
    if parent is None:
        _UNPARENTED.add(box)
        box.finished.connect(lambda _result: _UNPARENTED.discard(box))
    box.open()  # window-modal, never blocks the caller (or a test)


def show_error(parent: QWidget | None, exc: BaseException, *,
               presenter: Presenter | None = None) -> ErrorReport | None:
    """Show ``exc`` the way its type asks for; returns what was shown (None for nothing)."""
    described = describe_error(exc)
    if described is None:
        return None
    report, severity = described
    try:
        (presenter or _message_box)(parent, report, severity)
    except Exception:  # noqa: BLE001 - showing an error must never raise
        log.exception("could not present error %s", report.reference or report.title)
    return report


def find_error_boxes() -> list[QMessageBox]:
    """Every open error box (for tests and the self-test)."""
    app = QApplication.instance()
    if app is None:
        return []
    boxes = [w for w in app.allWidgets() if isinstance(w, QMessageBox) and w.objectName() == ERROR_BOX_NAME]
    return [b for b in boxes if shiboken6.isValid(b)]


# ---- uncaught exceptions ------------------------------------------------------------------

class _ThreadRelay(QObject):
    raised = Signal(object)


def install_exception_hooks(parent_for_errors: Callable[[], QWidget | None] = lambda: None,
                            ) -> Callable[[], None]:
    """Route uncaught exceptions to ``show_error``; returns a function that restores the old hooks.

    GUI-thread exceptions (e.g. in a slot) are shown right away; exceptions in other threads
    are logged there and shown on the GUI thread. KeyboardInterrupt keeps its default.
    """
    old_sys, old_thread = sys.excepthook, threading.excepthook
    relay = _ThreadRelay(QApplication.instance())
    relay.raised.connect(lambda exc: show_error(parent_for_errors(), exc), Qt.ConnectionType.QueuedConnection)

    def sys_hook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            old_sys(exc_type, exc, tb)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        if threading.current_thread() is threading.main_thread():
            show_error(parent_for_errors(), exc)
        else:
            relay.raised.emit(exc)

    def thread_hook(args: threading.ExceptHookArgs):
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        relay.raised.emit(args.exc_value)

    sys.excepthook = sys_hook
    threading.excepthook = thread_hook

    def uninstall() -> None:
        sys.excepthook = old_sys
        threading.excepthook = old_thread
        if shiboken6.isValid(relay):
            relay.deleteLater()

    return uninstall
