"""show_error sorts by type: user-facing text, remote with its system, cancelled nothing, bugs referenced."""

from __future__ import annotations

import logging
import re
import sys
import threading

import pytest
from PySide6.QtWidgets import QWidget

from console.errors import (
    AuthError,
    Cancelled,
    NetworkError,
    NotPermitted,
    Problem,
    RemoteError,
    UnsupportedVersionError,
    UserFacingError,
    ValidationError,
)
from console.ui.errors import describe_error, find_error_boxes, install_exception_hooks, show_error


def _shown(exc):
    shown = []
    report = show_error(None, exc, presenter=lambda parent, r, sev: shown.append((r, sev)))
    return report, shown


def test_cancelled_shows_nothing():
    report, shown = _shown(Cancelled())
    assert report is None and shown == []


def test_validation_error_shows_message_problems_and_hint():
    exc = ValidationError("invoices.csv has 2 problems",
                          [Problem(3, "amount", "money", "not an amount"), Problem(7, "account", "required", "empty")],
                          hint="fix the file and import again")
    report, shown = _shown(exc)
    assert report.message == "invoices.csv has 2 problems"
    assert any("line 3" in d and "amount" in d and "[money]" in d for d in report.details)
    assert any("line 7" in d for d in report.details)
    assert report.details[-1] == "fix the file and import again"
    assert report.reference is None and shown[0][1] == "warning"


def test_many_problems_are_capped():
    exc = ValidationError("bad", [Problem(i, "c", "r", "m") for i in range(1, 40)])
    report, _ = describe_error(exc)
    assert report.details[-1].startswith("… and 27 more")


@pytest.mark.parametrize("exc, title_part", [
    (RemoteError("batch is closed", system="Caselle"), "Caselle reported"),
    (NetworkError("timed out", system="Invoice Cloud"), "Invoice Cloud could not be reached"),
    (AuthError("token expired", system="Caselle"), "Caselle refused"),
    (UnsupportedVersionError("ACH rejects need 2021.05", system="Caselle"), "API version"),
])
def test_remote_errors_name_the_system(exc, title_part):
    report, _ = describe_error(exc)
    assert title_part in report.title
    assert report.message.startswith(f"{exc.system}:")
    assert report.reference is None


def test_retryable_remote_error_says_so():
    report, _ = describe_error(NetworkError("timed out", system="Caselle"))
    assert any("try again" in d for d in report.details)


def test_user_facing_and_not_permitted_show_their_text():
    report, _ = describe_error(UserFacingError("No open batch", hint="open one"))
    assert report.message == "No open batch" and report.details == ["open one"]
    report, _ = describe_error(NotPermitted("Only supervisors may void"))
    assert report.title == "Not permitted"


def test_unexpected_error_is_logged_with_a_reference(caplog):
    with caplog.at_level(logging.ERROR):
        report, sev = describe_error(KeyError("boom"))
    assert re.fullmatch(r"E-[0-9A-F]{6}", report.reference)
    assert report.reference in report.message and "boom" not in report.message
    assert sev == "critical"
    # the traceback is kept (as exc_info, or as exc_text once a redacting handler formatted it)
    assert any(report.reference in r.getMessage() and (r.exc_info or r.exc_text) for r in caplog.records)


def test_show_error_opens_a_non_blocking_box(qtbot):
    w = QWidget()
    qtbot.addWidget(w)
    report = show_error(w, RuntimeError("x"))
    boxes = find_error_boxes()
    assert len(boxes) == 1
    assert report.reference in boxes[0].text()
    assert boxes[0].property("reference") == report.reference
    boxes[0].close()


def test_exception_hooks_route_uncaught_errors_and_restore(qtbot):
    old_sys, old_thread = sys.excepthook, threading.excepthook
    got = []
    import console.ui.errors as mod

    real = mod.show_error
    mod.show_error = lambda parent, exc, **kw: got.append(exc)
    uninstall = install_exception_hooks()
    try:
        try:
            raise ValueError("gui thread")
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)

        def boom():
            raise LookupError("worker")

        t = threading.Thread(target=boom)
        t.start()
        t.join()
        qtbot.waitUntil(lambda: len(got) == 2, timeout=3000)
    finally:
        uninstall()
        mod.show_error = real
    assert {type(e) for e in got} == {ValueError, LookupError}
    assert sys.excepthook is old_sys and threading.excepthook is old_thread
