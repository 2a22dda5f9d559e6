"""The main window: a training banner, the tabs and a status bar. Layout only.

Tabs are built the first time they are shown (``console.ui.tabs.TABS``); a tab whose module
does not exist yet shows what it will do. The status bar shows background activity (with
Cancel), the TRAINING badge, the profile, the Caselle connection and API version (checked in
the background every few minutes) and the signed-in operator. Geometry and the last tab are
UI state, restored from QSettings (group ``main_window``).
"""

from __future__ import annotations

import importlib
import logging
import sys
import time

import shiboken6
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSizePolicy,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from console import __version__
from console.ui.context import UiContext
from console.ui.elided_label import ElidedLabel
from console.ui.errors import describe_error
from console.ui.operations import Operation, tracker
from console.ui.screen_fit import clamp_to_screen, fit_to_screen
from console.ui.tabs import TABS, home_tab

log = logging.getLogger(__name__)

APP_TITLE = "Biller Console"
CONNECTION_RECHECK_MS = 5 * 60 * 1000
FIRST_CHECK_DELAY_MS = 400
FIRST_PAINT_FALLBACK_MS = 1000  # build the current tab even if no expose event ever arrives
ACTIVITY_TEXT_WIDTH = 420  # px: a long progress message must not push the status fields away
TRAINING_STYLE = "background:#b45309; color:white; font-weight:600;"


# ---- tabs -----------------------------------------------------------------------------------

def placeholder(title: str, text: str, *, note: str = "This tab is not available in this version yet.",
                error: bool = False) -> QWidget:
    """A calm panel saying what the tab will do — no fake controls."""
    w = QWidget()
    w.setObjectName("tab-placeholder")
    outer = QVBoxLayout(w)
    outer.setContentsMargins(32, 32, 32, 32)
    card = QFrame()
    card.setObjectName("placeholder-card")
    card.setFrameShape(QFrame.Shape.StyledPanel)
    card.setMaximumWidth(640)
    inner = QVBoxLayout(card)
    inner.setContentsMargins(24, 20, 24, 20)
    inner.setSpacing(10)
    heading = QLabel(title)
    font = heading.font()
    font.setPointSizeF(font.pointSizeF() * 1.4)
    font.setBold(True)
    heading.setFont(font)
    status = QLabel(note)
    status.setObjectName("placeholder-status")
    status.setStyleSheet("color:#b91c1c;" if error else "color:palette(placeholder-text);")
    status.setWordWrap(True)
    status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    what = QLabel(f"<b>What it will do:</b> {text}" if not error else text)
    what.setObjectName("placeholder-text")
    what.setWordWrap(True)
    inner.addWidget(heading)
    inner.addWidget(status)
    inner.addWidget(what)
    outer.addStretch(1)
    row = QHBoxLayout()
    row.addStretch(1)
    row.addWidget(card, 3)
    row.addStretch(1)
    outer.addLayout(row)
    outer.addStretch(2)
    return w


def build_tab(title: str, target: str | None, text: str, ctx: UiContext) -> QWidget:
    """Import and construct one tab; a missing module gives the placeholder, a crash a referenced one."""
    if not target:
        return placeholder(title, text)
    module_name, _, class_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            return placeholder(title, text)
        return _broken_tab(title, exc)
    except Exception as exc:  # noqa: BLE001 - one broken tab must not stop the console
        return _broken_tab(title, exc)
    try:
        return getattr(module, class_name)(ctx)
    except Exception as exc:  # noqa: BLE001
        return _broken_tab(title, exc)


def _broken_tab(title: str, exc: BaseException) -> QWidget:
    described = describe_error(exc)
    if described is None:
        return placeholder(title, "", note="Cancelled.")
    report, _ = described
    w = placeholder(title, report.message, note="This tab could not be opened.", error=True)
    w.setProperty("broken", True)
    return w


class _TabHost(QWidget):
    """Holds one tab; builds the real widget the first time it is shown."""

    def __init__(self, title: str, target: str | None, text: str):
        super().__init__()
        self.title, self.target, self.text = title, target, text
        self.setObjectName(f"tab-host-{title.lower().replace(' ', '-')}")
        self.content: QWidget | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)

    def ensure_built(self, ctx: UiContext) -> QWidget:
        if self.content is None:
            self.content = build_tab(self.title, self.target, self.text, ctx)
            self.layout().addWidget(self.content)
        return self.content


# ---- status bar activity ----------------------------------------------------------------

class ActivityArea(QWidget):
    """Shows the newest running background operation: label, progress and Cancel."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("activity")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 8, 0)
        lay.setSpacing(6)
        # elided to the width the status bar gives it: "Indexing bills.pdf  46/727" is not cut to "46/72"
        self.label = ElidedLabel(fit_text=True, minimum_width=120)
        self.bar = QProgressBar()
        self.bar.setFixedWidth(140)
        self.bar.setMaximumHeight(14)
        self.bar.setTextVisible(False)
        self.cancel_button = QToolButton()
        self.cancel_button.setText("Cancel")
        self.cancel_button.setToolTip("Stop this operation")
        self.cancel_button.clicked.connect(self._on_cancel_clicked)
        lay.addWidget(self.label)
        lay.addWidget(self.bar)
        lay.addWidget(self.cancel_button)
        self._ops: list[Operation] = []
        t = tracker()
        t.started.connect(self._on_started)
        t.progressed.connect(self._on_progressed)
        t.ended.connect(self._on_ended)
        self.setVisible(False)

    def current(self) -> Operation | None:
        return self._ops[-1] if self._ops else None

    def _on_started(self, op: Operation) -> None:
        if op.modal or not op.label:
            return  # modal ones have their own dialog; unlabelled ones are quick look-ups
        self._ops.append(op)
        self._refresh()

    def _on_progressed(self, op: Operation, done: int, total, message: str) -> None:
        if op is self.current():
            self._refresh()

    def _on_ended(self, op: Operation) -> None:
        if op in self._ops:
            self._ops.remove(op)
        self._refresh()

    def _on_cancel_clicked(self) -> None:
        op = self.current()
        if op is not None:
            op.cancel()
            self.cancel_button.setEnabled(False)
            self.label.setText(f"{op.label} — cancelling…")

    def _refresh(self) -> None:
        if not shiboken6.isValid(self):
            return
        op = self.current()
        self.setVisible(op is not None)
        if op is None:
            return
        text = op.label
        if op.last_progress:
            done, total, message = op.last_progress
            text += f"  {done:,}/{total:,}" if total else (f"  {done:,}" if done else "")
            if message:
                text += f" · {message}"
            self.bar.setRange(0, total or 0)
            self.bar.setValue(min(done, total) if total else 0)
        else:
            self.bar.setRange(0, 0)
        if len(self._ops) > 1:
            text += f"  (+{len(self._ops) - 1} more)"
        metrics = self.label.fontMetrics()
        shown = metrics.elidedText(text, Qt.TextElideMode.ElideMiddle, ACTIVITY_TEXT_WIDTH)
        self.label.setText(shown)
        self.label.setToolTip(text if shown != text else "")
        self.cancel_button.setVisible(op.cancellable)
        self.cancel_button.setEnabled(op.cancellable and not op.cancelled)


# ---- the window -------------------------------------------------------------------------------

class MainWindow(QMainWindow):
    switch_profile_requested = Signal(str)
    sign_out_requested = Signal()
    settings_saved = Signal(str)  # profile name; the app reloads services when it is the current one

    def __init__(self, ctx: UiContext, *, check_connection: bool = True, idle_lock_ms: int | None = None):
        super().__init__()
        self.ctx = ctx
        ctx.status_sink = self._show_status
        self.setObjectName("main-window")
        self._state = ctx.ui_state("main_window")
        self._restored = False
        self._set_title()

        central = QWidget()
        central.setObjectName("window-content")
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.training_banner: QLabel | None = None
        if ctx.training:
            self.training_banner = QLabel(
                "TRAINING — sandbox profile with demo data. Nothing here reaches Caselle or Invoice Cloud.")
            self.training_banner.setObjectName("training-banner")
            self.training_banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.training_banner.setStyleSheet(TRAINING_STYLE + "padding:4px;")
            lay.addWidget(self.training_banner)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("main-tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.setUsesScrollButtons(True)
        for title_, target, text in TABS:
            self.tabs.addTab(_TabHost(title_, target, text), title_)
        lay.addWidget(self.tabs, 1)
        from console.ui.lock_screen import LockScreen

        self.pages = QStackedWidget()  # the content, or the lock screen that covers it
        self.pages.addWidget(central)
        self.lock_screen = LockScreen(ctx.training)
        self.pages.addWidget(self.lock_screen)
        self.setCentralWidget(self.pages)
        self.tabs.currentChanged.connect(self._on_tabs_current_changed)

        self._build_status_bar()
        self._build_menus()
        self.first_exposed_at: float | None = None  # perf_counter() of the first paint (start-up timing)
        self._content_scheduled = False
        self._restoring = True
        self._restore_state()
        self._restoring = False

        self.idle_lock = None
        self.journal_status = None  # the GuardStatus of the start check, once it ran
        self.lock_dialog = None
        self.help_window = None
        self._focus_before_lock: QWidget | None = None
        self._hidden_by_lock: list = []
        self._disabled_by_lock: list = []
        if ctx.operator is not None and idle_lock_ms:
            from console.ui.signin_dialog import IdleLock

            self.idle_lock = IdleLock(self, idle_lock_ms)
            self.idle_lock.idle.connect(self._on_idle_lock_idle)

        self._connection_timer = QTimer(self)
        self._connection_timer.setInterval(CONNECTION_RECHECK_MS)
        self._connection_timer.timeout.connect(self.check_connection)
        if check_connection:  # just after the window is painted: the check imports and connects
            QTimer.singleShot(FIRST_CHECK_DELAY_MS, self.check_connection)
            QTimer.singleShot(FIRST_CHECK_DELAY_MS, self.check_journal)
            self._connection_timer.start()

    def _set_title(self, *, locked: bool = False) -> None:
        ctx = self.ctx
        title = f"Console locked — {APP_TITLE}" if locked else f"{APP_TITLE} — {ctx.profile.name}"
        if ctx.operator and not locked:
            title += f" — {ctx.operator.name}"
        self.setWindowTitle(f"TRAINING — {title}" if ctx.training else title)

    # ---- layout -----------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        sb = self.statusBar()
        sb.setObjectName("status-bar")
        sb.setSizeGripEnabled(True)
        self.activity = ActivityArea()
        sb.addPermanentWidget(self.activity)
        if self.ctx.training:
            self.training_badge = QLabel(" TRAINING ")
            self.training_badge.setObjectName("training-badge")
            self.training_badge.setStyleSheet(TRAINING_STYLE + "border-radius:3px; padding:1px 6px;")
            sb.addPermanentWidget(self.training_badge)
        self.profile_label = self._status_label("status-profile", f"Profile: {self.ctx.profile.name}")
        if self.ctx.training:  # the badge says it (the sandbox profile): room for the messages at 1024×768
            self.profile_label.setVisible(False)
            self.training_badge.setToolTip(f"Profile {self.ctx.profile.name}: training, demo data only")
        self.caselle_label = self._status_label("status-caselle", "Caselle: checking…")
        op = self.ctx.operator
        self.operator_label = self._status_label("status-operator", f"{op.name} ({op.role})" if op else "No operator")
        self.operator_label.setToolTip("The operator signed in")
        for w in (self.profile_label, self.caselle_label, self.operator_label):
            sb.addPermanentWidget(w)

    def _status_label(self, name: str, text: str) -> QLabel:
        label = QLabel(text)
        label.setObjectName(name)
        label.setContentsMargins(8, 0, 8, 0)
        label.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        return label

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self.switch_profile_action = QAction("Switch &profile…", self)
        self.switch_profile_action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        self.switch_profile_action.triggered.connect(self._on_switch_profile_triggered)
        file_menu.addAction(self.switch_profile_action)
        self.settings_action = QAction("&Settings…", self)
        self.settings_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Preferences)
                                         if not QKeySequence(QKeySequence.StandardKey.Preferences).isEmpty()
                                         else QKeySequence("Ctrl+,"))
        self.settings_action.triggered.connect(self._on_settings_triggered)
        file_menu.addAction(self.settings_action)
        file_menu.addSeparator()
        self.lock_action = QAction("&Lock the console", self)
        self.lock_action.setShortcut(QKeySequence("Ctrl+L"))
        self.lock_action.triggered.connect(self._on_lock_action_triggered)
        file_menu.addAction(self.lock_action)
        self.sign_out_action = QAction("Sign &out", self)
        self.sign_out_action.setShortcut(QKeySequence("Ctrl+Shift+L"))
        self.sign_out_action.triggered.connect(self.sign_out_requested)
        file_menu.addAction(self.sign_out_action)
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        view_menu = self.menuBar().addMenu("&View")
        for i, (title, _t, _x) in enumerate(TABS):
            action = QAction(title, self)
            if i < 9:
                action.setShortcut(QKeySequence(f"Ctrl+{i + 1}"))
            action.triggered.connect(lambda _checked=False, index=i: self.tabs.setCurrentIndex(index))
            view_menu.addAction(action)
        view_menu.addSeparator()
        recheck = QAction("Check &Caselle connection", self)
        # not F5: a tab's own keys come first (F5 authorizes at the counter), and Qt fires
        # neither of two shortcuts that share a key (tests/ui/test_shell_keyboard.py)
        recheck.setShortcut(QKeySequence("Shift+F5"))
        recheck.triggered.connect(self.check_connection)
        view_menu.addAction(recheck)

        help_menu = self.menuBar().addMenu("&Help")
        self.help_action = QAction("&Help for this tab", self)
        self.help_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents)
                                     if not QKeySequence(QKeySequence.StandardKey.HelpContents).isEmpty()
                                     else QKeySequence("F1"))
        self.help_action.triggered.connect(self.show_help)
        help_menu.addAction(self.help_action)
        if self.ctx.training:
            cards = QAction("&Training cards…", self)
            cards.triggered.connect(self.show_training_cards)
            help_menu.addAction(cards)
        diagnostics = QAction("&Diagnostics", self)
        diagnostics.setShortcut(QKeySequence("Ctrl+Shift+D"))
        diagnostics.triggered.connect(lambda: self.tabs.setCurrentIndex(self.tab_index("Diagnostics")))
        help_menu.addAction(diagnostics)
        logs = QAction("Open the &log folder", self)
        logs.triggered.connect(self._on_open_logs_triggered)
        help_menu.addAction(logs)
        help_menu.addSeparator()
        about = QAction("&About Biller Console", self)
        about.setMenuRole(QAction.MenuRole.AboutRole)
        about.triggered.connect(self.show_about)
        help_menu.addAction(about)

    # ---- tabs ---------------------------------------------------------------------------
    def tab_index(self, title: str) -> int:
        for i in range(self.tabs.count()):
            if self.tabs.tabText(i) == title:
                return i
        return -1

    def tab_widget(self, title: str) -> QWidget | None:
        """The built tab (builds it if needed), e.g. for the self-test."""
        i = self.tab_index(title)
        if i < 0:
            return None
        host = self.tabs.widget(i)
        return host.ensure_built(self.ctx) if isinstance(host, _TabHost) else host

    def event(self, e: QEvent) -> bool:  # Qt override
        if e.type() == QEvent.Type.Show and not self._content_scheduled:
            # The window (menus, tab bar, status bar) is painted first; the current tab's content
            # is built right after its first expose, so a heavy tab never delays the window.
            self._content_scheduled = True
            handle = self.windowHandle()
            if handle is not None:
                handle.installEventFilter(self)
            QTimer.singleShot(FIRST_PAINT_FALLBACK_MS, self._on_first_exposed)
        return super().event(e)

    def eventFilter(self, obj, e: QEvent) -> bool:  # noqa: N802 - Qt override
        if e.type() == QEvent.Type.Expose and obj is self.windowHandle() and self.first_exposed_at is None:
            QTimer.singleShot(0, self._on_first_exposed)  # after this expose has been painted
        return super().eventFilter(obj, e)

    def _on_first_exposed(self) -> None:
        if self.first_exposed_at is None:
            self.first_exposed_at = time.perf_counter()
            handle = self.windowHandle()
            if handle is not None:
                handle.removeEventFilter(self)
        self._ensure_current_tab()

    def _ensure_current_tab(self) -> None:
        host = self.tabs.currentWidget()
        if isinstance(host, _TabHost):
            host.ensure_built(self.ctx)

    def _on_tabs_current_changed(self, index: int) -> None:
        if not self._restoring:  # the restored tab is built after the first paint (_on_first_exposed)
            self._ensure_current_tab()
        if index >= 0 and not self._restoring:
            self._state.set_value("last_tab", self.tabs.tabText(index))
            self._state.set_value("last_operator", self.ctx.operator_id)

    # ---- state ----------------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self._state.bytes("geometry")
        if geometry is not None:
            self._restored = self.restoreGeometry(geometry)
        if not self._restored:
            fit_to_screen(self, 1180, 760)  # first start: the window fits a 1024×768 screen
        else:
            clamp_to_screen(self)
        # the same operator comes back to where they were; another lands on their role's home tab
        last = self._state.value("last_tab") if self._state.value("last_operator") == self.ctx.operator_id else None
        i = self.tab_index(str(last)) if last else -1
        if i < 0:
            i = self.tab_index(home_tab(self.ctx.role))
        if i >= 0:
            self.tabs.setCurrentIndex(i)

    def save_state(self) -> None:
        self._state.set_value("geometry", self.saveGeometry())
        self._state.set_value("last_tab", self.tabs.tabText(self.tabs.currentIndex()))
        self._state.set_value("last_operator", self.ctx.operator_id)
        self._state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        self.save_state()
        self._connection_timer.stop()
        if self.idle_lock is not None:
            self.idle_lock.stop()
        super().closeEvent(event)

    # ---- status ---------------------------------------------------------------------------
    def _show_status(self, message: str, timeout_ms: int) -> None:
        if shiboken6.isValid(self):
            self.statusBar().showMessage(message, timeout_ms)

    def check_connection(self) -> None:
        """Ask Caselle Connect (in the background) whether it answers, and its API version."""
        from console.services.diagnostics import connection_status

        services = self.ctx.services
        self.caselle_label.setToolTip("Checking the Caselle Connect connection…")
        Operation(self, lambda op: connection_status(services)) \
            .success(self.show_connection) \
            .failure(lambda exc: self.show_connection(None, error=exc)) \
            .run()

    def check_journal(self) -> None:
        """The journal guard's start check (and the daily backup when due), in the background."""
        services = self.ctx.services
        if not hasattr(services, "journal_start_check"):
            return
        Operation(self, lambda op: services.journal_start_check()) \
            .success(self.show_journal_status) \
            .failure(lambda exc: self._show_status(f"The journal could not be checked: {exc}", 0)) \
            .run()

    def show_journal_status(self, status) -> None:
        """A failed check stays in the status bar (Diagnostics shows it and lets a supervisor go on)."""
        self.journal_status = status
        if status is not None and not status.ok:  # None: a journal server (it refuses for itself)
            log.warning("journal check at start: %s", "; ".join(status.findings))
            self._show_status("Posting and payments are stopped: " + "; ".join(status.findings)
                              + " — see Diagnostics", 0)

    def show_connection(self, status, error: BaseException | None = None) -> None:
        label = self.caselle_label
        if status is None:
            label.setText("Caselle: error")
            label.setStyleSheet("color:#b91c1c;")
            label.setToolTip(f"The connection check failed: {type(error).__name__}")
            return
        dot = {"connected": "#15803d", "unreachable": "#b91c1c", "auth failed": "#b91c1c",
               "not configured": "#b45309"}.get(status.state, "#b91c1c")
        text = f"Caselle: <span style='color:{dot}'>●</span> {status.state} · API {status.api_version}"
        if status.token_warning:
            text += f" · <span style='color:#b45309'>{status.token_warning}</span>"
        label.setText(text)
        label.setToolTip(status.detail or "")
        label.setProperty("state", status.state)

    def show_about(self) -> None:
        from PySide6 import __version__ as pyside_version

        box = QMessageBox(self)
        box.setObjectName("about-box")
        box.setWindowTitle("About Biller Console")
        box.setIcon(QMessageBox.Icon.Information)
        box.setText(f"<b>Biller Console {__version__}</b>")
        box.setInformativeText(
            "Operator console connecting Invoice Cloud with Caselle.<br>"
            f"Profile: {self.ctx.profile.name}{' (TRAINING)' if self.ctx.training else ''}<br>"
            f"Python {sys.version.split()[0]} · Qt for Python {pyside_version}")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    # ---- lock -------------------------------------------------------------------------
    def _on_idle_lock_idle(self) -> None:
        self.lock("idle")

    def _on_lock_action_triggered(self) -> None:
        self.lock("manual")

    def lock(self, reason: str = "idle") -> None:
        """Cover the whole window until the operator's (or a supervisor's) PIN is entered; no
        customer data stays visible. Background work goes on."""
        if self.lock_dialog is not None or self.ctx.operator is None:
            return
        from console.formatting import format_time
        from console.ui.lock_screen import disable_actions, hide_owned_windows
        from console.ui.signin_dialog import LockDialog

        log.info("console locked (%s) for operator %s", reason, self.ctx.operator_id)
        self._audit("console.lock", self.ctx.operator_id, reason=reason)
        if self.idle_lock is not None:
            self.idle_lock.pause()
        dlg = LockDialog(self.ctx.services, self.ctx.operator, reason=reason, locked_at=format_time(self.ctx.now()))
        dlg.sign_out.connect(self.sign_out_requested)
        dlg.accepted.connect(self._on_unlocked)
        self.lock_dialog = dlg
        self._focus_before_lock = self.focusWidget()  # hiding the tabs takes it away
        self._hidden_by_lock = hide_owned_windows(self)
        self._disabled_by_lock = disable_actions(self)
        self.tabs.setEnabled(False)
        self.menuBar().setEnabled(False)
        self.statusBar().clearMessage()
        self.statusBar().setVisible(False)
        self.pages.setCurrentWidget(self.lock_screen)
        self.lock_screen.set_dialog(dlg)
        self._set_title(locked=True)

    def _on_unlocked(self) -> None:
        from console.ui.lock_screen import enable_actions, show_again

        dlg = self.lock_dialog
        by = dlg.unlocked_by if dlg is not None else None
        self.lock_dialog = None
        if by is not None and by.operator_id != self.ctx.operator_id:
            self.take_over(by)
        log.info("console unlocked by %s", self.ctx.operator_id)
        self.pages.setCurrentIndex(0)
        self._set_title()
        self.statusBar().setVisible(True)
        self.tabs.setEnabled(True)
        self.menuBar().setEnabled(True)
        enable_actions(self._disabled_by_lock)
        show_again(self._hidden_by_lock)
        self._disabled_by_lock, self._hidden_by_lock = [], []
        if dlg is not None:
            dlg.hide()  # deleted when the next lock replaces it
        self._restore_focus_after_lock()
        if self.idle_lock is not None:
            self.idle_lock.resume()

    def take_over(self, operator) -> None:
        """A supervisor unlocked the console: from now on they are the operator acting."""
        log.info("operator %s takes over from %s", operator.operator_id, self.ctx.operator_id)
        self._audit("console.take_over", self.ctx.operator_id, by=operator.operator_id)
        self.ctx.operator = operator
        self.ctx.services.operator_id = operator.operator_id
        self.operator_label.setText(f"{operator.name} ({operator.role})")

    def _audit(self, action: str, subject: str, **details) -> None:
        """An audit row written on a worker (the journal is SQLite: never on the GUI thread)."""
        audit, operator_id = self.ctx.services.audit, self.ctx.operator_id

        def work(_op):
            audit.record(operator_id, action, subject, **details)

        Operation(self, work).failure(lambda exc: log.warning("audit %s not written: %s", action, exc)).run()

    # ---- help -----------------------------------------------------------------------------
    def show_help(self) -> None:
        """F1: the help of the current tab, in its own window (not modal)."""
        from console.ui.help_window import HelpWindow, topic_for_tab

        if self.help_window is None or not shiboken6.isValid(self.help_window):
            self.help_window = HelpWindow(self)
        self.help_window.show_topic(topic_for_tab(self.tabs.tabText(self.tabs.currentIndex())))
        self.help_window.show()
        self.help_window.raise_()

    def show_training_cards(self) -> None:
        """Help › Training cards (sandbox only): test cards that the sandbox approves."""
        from console.ui.training_cards import TrainingCardsDialog

        dlg = TrainingCardsDialog(self.ctx, self)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.show()

    def _restore_focus_after_lock(self) -> None:
        """Back where the operator was, so the tab's own keys (F2, F5) work at once."""
        before, self._focus_before_lock = self._focus_before_lock, None
        if before is not None and shiboken6.isValid(before) and before.isVisible() and before.isEnabled() \
                and before.window() is self:
            before.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        content = self.tabs.currentWidget()
        for w in content.findChildren(QWidget) if content is not None else ():
            if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus:
                w.setFocus(Qt.FocusReason.OtherFocusReason)
                return

    # ---- menu actions -------------------------------------------------------------------
    def _on_open_logs_triggered(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        folder = self.ctx.services.paths.log_dir
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            self.ctx.status(f"Logs are in {folder}", 15_000)

    def _on_settings_triggered(self) -> None:
        from console.ui.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.ctx, self)
        dlg.saved.connect(self.settings_saved)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.open()

    def _on_switch_profile_triggered(self) -> None:
        from console.ui.settings_dialog import ProfilePicker

        picker = ProfilePicker(self.ctx.services.paths, self.ctx.profile.name, self)
        picker.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        picker.chosen.connect(self.switch_profile_requested)
        picker.open()
