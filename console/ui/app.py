"""Start the GUI: QApplication, logging, services, operator sign-in, the main window.

``run_gui(args)`` is called by ``biller-console`` with no command. ``--self-test`` opens
every tab offscreen (no sign-in; a built-in support operator) and exits 0 when every tab
opened without an error; ``--self-test --timing`` also prints the time from process start
to the main window shown. Imports stay lazy so start-up is fast. While the GUI runs, Python's
cyclic garbage collector runs from a timer on the GUI thread only (console/ui/gui_gc.py).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from pathlib import Path

_T_IMPORT = time.perf_counter()

log = logging.getLogger(__name__)

SELF_TEST_OPERATOR_ID = "self-test"


def process_age_s() -> float | None:
    """Seconds since this process started (Linux /proc, Windows GetProcessTimes), or None."""
    if sys.platform == "win32":
        return _windows_process_age_s()
    try:
        stat = Path("/proc/self/stat").read_text()
        fields = stat[stat.rindex(")") + 2:].split()
        start_ticks = int(fields[19])  # field 22 overall: starttime in clock ticks since boot
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError, AttributeError):
        return None


def _windows_process_age_s() -> float | None:
    import ctypes
    from ctypes import wintypes

    try:
        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        created, exited, kernel, user = (wintypes.FILETIME() for _ in range(4))
        if not kernel32.GetProcessTimes(kernel32.GetCurrentProcess(), ctypes.byref(created), ctypes.byref(exited),
                                        ctypes.byref(kernel), ctypes.byref(user)):
            return None
        now = wintypes.FILETIME()
        kernel32.GetSystemTimeAsFileTime(ctypes.byref(now))
        ticks = ((now.dwHighDateTime << 32) | now.dwLowDateTime) - ((created.dwHighDateTime << 32)
                                                                    | created.dwLowDateTime)
        return max(0.0, ticks / 10_000_000)  # FILETIME counts 100 ns
    except (AttributeError, OSError):
        return None


class ConsoleApp:
    """Owns the services and the window for the current profile; switches profile and operator."""

    def __init__(self, app, args, *, t0: float):
        from console.paths import Paths

        self.app = app
        self.args = args
        self.t0 = t0
        self.paths = Paths.default().ensure()
        self.services = None
        self.window = None
        self.operator = None
        self.startup_presenter = _read_before_continuing  # tests replace it

    # ---- services ---------------------------------------------------------------------
    def known_secrets(self):
        """Secret values for the log redaction filter: those the profile's store has set or
        read in this process (a secret never read cannot be in a log line). Never touches the
        keyring: a record logged while a keyring backend loads must not wait for the store."""
        services = self.services
        return () if services is None else services.secrets.redaction_values()

    def load_services(self, profile_name: str | None):
        from console.app import build_services
        from console.errors import ConsoleError
        from console.ui.errors import show_error

        try:
            services = build_services(profile_name, paths=self.paths)
        except ConsoleError as exc:
            if profile_name == "sandbox":
                raise
            log.error("profile %r could not be loaded; starting on the sandbox", profile_name)
            if not self.args.self_test:
                show_error(None, exc, presenter=self.startup_presenter)
            services = build_services("sandbox", paths=self.paths)
        _apply_reader_profile(services)
        return services

    def close_services(self) -> None:
        from console.ui.operations import tracker

        t = tracker()
        t.cancel_all()
        if not t.wait(10_000):
            log.warning("background operations still running at shutdown")
        if self.services is not None:
            self.services.close()
            self.services = None

    # ---- sign-in and window ----------------------------------------------------------
    def sign_in(self) -> bool:
        from console.config import Operator

        if self.args.self_test:
            self.operator = Operator(SELF_TEST_OPERATOR_ID, "Self test", "support")
            return True
        from console.ui.signin_dialog import SignInDialog

        dlg = SignInDialog(self.services)
        if dlg.exec() != SignInDialog.DialogCode.Accepted or dlg.operator is None:
            return False
        self.operator = dlg.operator
        self.services.operator_id = self.operator.operator_id
        self._ask_session_secrets()
        return True

    def _ask_session_secrets(self) -> None:
        """No secure keyring: ask for this profile's secrets, kept in memory for this session."""
        services = self.services
        if services.profile.is_sandbox or services.secrets.secure:
            return
        from console.ui.settings_dialog import SessionSecretsDialog

        dlg = SessionSecretsDialog(services)
        if dlg.needed():
            dlg.exec()

    def open_window(self, *, check_connection: bool = True):
        from console.ui.context import UiContext, ui_settings
        from console.ui.main_window import MainWindow

        ctx = UiContext(self.services, self.operator, settings=ui_settings(self.paths.config_dir))
        from console.ui.signin_dialog import IDLE_LOCK_MS

        window = MainWindow(ctx, check_connection=check_connection,
                            idle_lock_ms=None if self.args.self_test else IDLE_LOCK_MS)
        window.switch_profile_requested.connect(self.switch_profile)
        window.sign_out_requested.connect(self.sign_out)
        window.settings_saved.connect(self._on_settings_saved)
        self.window = window
        window.show()
        # the operator types next: take the keyboard (the sign-in dialog had it; without a
        # window manager, as on a kiosk, nothing else gives it to the new window)
        window.raise_()
        window.activateWindow()
        return window

    def _replace_window(self, profile_name: str | None, *, keep_operator: bool = False) -> None:
        """New services (and window) for ``profile_name``; sign in again unless the same
        operator (same ID and role) still exists in the reloaded profile."""
        old = self.window
        self.window = None
        if old is not None:
            old.save_state()
            old.hide()
            old.deleteLater()
        previous = self.operator
        old_secrets = self.services.secrets if self.services is not None else None
        self.close_services()
        self.services = self.load_services(profile_name)
        if old_secrets is not None and old_secrets.profile_name == self.services.profile.name:
            self.services.secrets = old_secrets  # keeps credentials entered for this session only
        same = self.services.profile.operator(previous.operator_id) if previous is not None else None
        if keep_operator and same is not None and same.role == previous.role:
            self.operator = same
            self.services.operator_id = same.operator_id
        elif not self.sign_in():
            self.operator = None
            self.app.quit()
            return
        self.open_window()

    def switch_profile(self, name: str) -> None:
        log.info("switching to profile %s", name)
        self._replace_window(name)

    def sign_out(self) -> None:
        log.info("operator %s signed out", self.operator.operator_id if self.operator else "?")
        self._replace_window(self.services.profile.name)

    def _on_settings_saved(self, name: str) -> None:
        if self.services is not None and name == self.services.profile.name:
            self._replace_window(name, keep_operator=True)
        elif self.window is not None:
            self.window.ctx.status(f"Profile {name!r} saved. Switch to it with File › Switch profile.", 15_000)


def run_gui(args) -> int:
    t0 = time.perf_counter()
    age = process_age_s()
    process_start = t0 - age if age is not None else _T_IMPORT
    if getattr(args, "self_test", False):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtWidgets import QApplication

    from console.logs import setup_logging
    from console.ui.errors import install_exception_hooks

    _route_qt_messages()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Biller Console")
    app.setOrganizationName("biller-console")
    app.setQuitOnLastWindowClosed(True)
    from console.ui.gui_gc import GarbageCollector

    collector = GarbageCollector.install(app)  # cyclic GC on the GUI thread only (never on a worker)
    controller = ConsoleApp(app, args, t0=process_start)
    setup_logging(controller.paths, secret_source=controller.known_secrets)
    uninstall_hooks = install_exception_hooks(lambda: app.activeWindow() or controller.window)
    capture = _install_swipe_capture(app)
    from console.ui.focus_keeper import FocusKeeper

    keeper = FocusKeeper.install(app)  # a closed dialog gives the keyboard back (no window manager)
    from console.ui.screen_fit import install_screen_fitter

    fitter = install_screen_fitter(app)  # no dialog opens larger than the screen (1024×768 offices)
    try:
        controller.services = controller.load_services(getattr(args, "profile", None))
        log.info("console %s starting on profile %s", _version(), controller.services.profile.name)
        if not controller.sign_in():
            controller.close_services()
            return 0
        if getattr(args, "self_test", False):
            return _self_test(controller, timing=getattr(args, "timing", False))
        controller.open_window()
        code = app.exec()
        if controller.window is not None:
            controller.window.save_state()
        controller.close_services()
        return int(code)
    finally:
        if capture is not None:
            capture.remove_installed(app)
        keeper.remove()
        keeper.setParent(None)
        app.removeEventFilter(fitter)
        uninstall_hooks()
        collector.uninstall()  # the workers are done: automatic collection as before


def _read_before_continuing(parent, report, severity: str) -> None:
    """At start-up (before sign-in) an error is read and dismissed before anything else opens."""
    from PySide6.QtWidgets import QMessageBox

    box = QMessageBox(QMessageBox.Icon.Critical if severity == "critical" else QMessageBox.Icon.Warning,
                      report.title, report.message + "\n\nThe console starts on the sandbox (TRAINING) instead.",
                      QMessageBox.StandardButton.Ok, parent)
    if report.details:
        box.setInformativeText("\n".join(f"• {d}" for d in report.details))
    box.exec()


def _install_swipe_capture(app):
    """The card reader's keystrokes are captured from the very start (before sign-in), so a
    swipe can never type card data into whatever field has focus. Tabs use the same capture."""
    try:
        from console.ui.swipe_capture import SwipeCapture
    except ImportError:  # a build without the swipe reader
        return None
    return SwipeCapture.install(app)


def _apply_reader_profile(services) -> None:
    """The profile's reader settings (preamble, postamble, timing, expected reader) and its
    duplicate-swipe memory take effect as soon as a profile is loaded, not when the Counter
    tab first opens."""
    try:
        from console.ui.swipe_capture import apply_reader_profile
    except ImportError:  # a build without the swipe reader
        return
    apply_reader_profile(services)


def _route_qt_messages() -> None:
    """Qt's own warnings go to the log file (level by type), not to the operator's terminal."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = logging.getLogger("qt")
    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

    def handler(msg_type, context, message):
        if "propagateSizeHints" in message:  # the offscreen platform's harmless note
            return
        qt_log.log(levels.get(msg_type, logging.WARNING), "%s", message)

    qInstallMessageHandler(handler)


def _version() -> str:
    from console import __version__

    return __version__


def _self_test(controller: ConsoleApp, *, timing: bool) -> int:
    """Open the window and every tab; exit 0 when none failed to open and no error was shown."""
    from console.ui.errors import find_error_boxes

    app = controller.app
    window = controller.open_window(check_connection=False)
    deadline = time.perf_counter() + 5
    while window.first_exposed_at is None and time.perf_counter() < deadline:
        app.processEvents()
    shown_s = (window.first_exposed_at or time.perf_counter()) - controller.t0
    while window.tabs.currentWidget().content is None and time.perf_counter() < deadline:
        app.processEvents()
    ready_s = time.perf_counter() - controller.t0
    failures: list[str] = []
    opened = []
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        app.processEvents()
        title = window.tabs.tabText(i)
        content = window.tab_widget(title)
        if content is None:
            failures.append(f"{title}: not built")
            continue
        broken = content.property("broken")
        kind = "placeholder" if content.objectName() == "tab-placeholder" else "tab"
        if broken:
            failures.append(f"{title}: could not be opened")
        opened.append(f"{title} ({kind})")
    boxes = find_error_boxes()
    for box in boxes:
        failures.append(f"error shown: {box.text()[:200]}")
        box.close()
    all_s = time.perf_counter() - controller.t0
    window.save_state()
    window.close()
    controller.close_services()
    print(f"self-test: {len(opened)} tabs opened: {', '.join(opened)}")
    if timing:
        print(f"timing: main window shown {shown_s:.3f} s after process start; its current tab ready at "
              f"{ready_s:.3f} s; every tab opened at {all_s:.3f} s")
    for f in failures:
        print(f"self-test FAILED: {f}", file=sys.stderr)
    print("self-test: OK" if not failures else "self-test: FAILED")
    code = 0 if not failures else 1
    sys.stdout.flush()
    sys.stderr.flush()
    logging.shutdown()
    stuck = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    if stuck and not os.environ.get("PYTEST_CURRENT_TEST"):
        os._exit(code)  # a background server thread that did not stop must not hang the self-test
    return code
