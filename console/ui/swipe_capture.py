"""Application-wide capture of IDTech SRED swipes typed by a keyboard-wedge reader.

A thin Qt shim over :class:`console.devices.capture.BurstDetector` (all decisions are made
there). Installed once on the application, it looks at every key press delivered to a
``QWindow`` — exactly one per physical key; the same key delivered again to the focus widget
is ignored — so it works whichever widget (or tab, or dialog) has focus:

- keystrokes of a frame are swallowed: the frame never lands in a text field, its undo stack
  or the clipboard;
- keystrokes held back while undecided and found to be a person's typing are replayed, in
  order, to the window they were typed into (nothing typed is lost);
- a key that is no character (Backspace, Tab, Ctrl+A, F5…) typed while characters are held
  waits behind them and is delivered in its place, so it never overtakes what was typed
  before it (after the frame, when the burst was a card);
- signals: ``card_did_arrive(SwipedCard)`` (masked fields plus the opaque encrypted payload,
  which only the gateway may use), ``swipe_did_fail(str)`` (the reason, never card data),
  ``state_did_change(str)`` (``listening`` / ``receiving`` / ``error``) and
  ``read_did_finish(ReadReport)`` (for the reader test: result plus inter-key timing).

Keyboard layout: a reader types US key codes whatever the OS layout, so on X11/Wayland and
Windows the character given to the detector is looked up from the key's scan code
(``console.devices.keymap``); a person's keys are replayed exactly as typed.

Time: the OS timestamp of a key event when it has one (mapped onto the clock), else the
injectable ``clock`` (QTest events carry timestamp 0). An idle timer ends bursts.

    capture = SwipeCapture.install(app, settings)   # once, at start-up
    apply_reader_profile(services)   # whenever the profile (services) is loaded: reader settings
    SwipeCapture.install().card_did_arrive.connect(self._on_card)   # anywhere later

Reader settings (``console.devices.reader_config``) come from the profile: preamble and
postamble (required around a read), terminator, burst threshold, frame timeout, expected reader
serial, and how long KSNs are remembered — in ``reader_ksns.sqlite3`` in the data folder, so a
replayed read is refused after a restart too. A preamble/postamble control character (e.g.
STX, ``\x02``) is typed by the reader as Ctrl+letter; it is read as that character when it
is one of the configured ones.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeyEvent, QWindow

from console.devices import keymap
from console.devices.capture import (
    HOLD,
    PASS,
    RECEIVING,
    SWALLOW,
    BurstDetector,
    CaptureSettings,
    Discard,
    FrameTiming,
    Replay,
)
from console.devices.ksn_memory import FILE_NAME as KSN_FILE
from console.devices.ksn_memory import KsnStore, RecentKsns
from console.devices.reader_config import ReaderSettings
from console.devices.sred import SwipedCard, SwipeRejected

log = logging.getLogger(__name__)

_MODIFIER_KEYS = frozenset({
    Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_Meta, Qt.Key.Key_AltGr,
    Qt.Key.Key_CapsLock, Qt.Key.Key_NumLock, Qt.Key.Key_ScrollLock, Qt.Key.Key_Super_L,
    Qt.Key.Key_Super_R, Qt.Key.Key_Hyper_L, Qt.Key.Key_Hyper_R,
})
_FLUSH_EVENTS = frozenset({
    QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick, QEvent.Type.Wheel,
    QEvent.Type.TouchBegin, QEvent.Type.InputMethod,
})


@dataclass(frozen=True)
class ReadReport:
    """The outcome of one frame for the reader test: a card or the reason it failed, and timing."""

    card: SwipedCard | None
    error: str | None
    check: str | None
    timing: FrameTiming


@dataclass
class _HeldKey:
    window: QWindow
    key: int
    modifiers: Qt.KeyboardModifier
    text: str
    released: bool = False
    passenger: bool = False  # not a character: waits behind the held characters, never fed


class SwipeCapture(QObject):
    card_did_arrive = Signal(object)  # SwipedCard
    swipe_did_fail = Signal(str)
    state_did_change = Signal(str)
    read_did_finish = Signal(object)  # ReadReport

    OBJECT_NAME = "biller_console_swipe_capture"

    def __init__(
        self,
        app: QCoreApplication | None = None,
        settings: CaptureSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        use_event_timestamps: bool = True,
        physical_keys: str | None = "auto",
        parent: QObject | None = None,
    ):
        super().__init__(parent)
        if physical_keys == "auto":
            platform = QGuiApplication.platformName() if QGuiApplication.instance() else ""
            physical_keys = {"xcb": "x11", "wayland": "x11", "windows": "windows"}.get(platform)
        self._scan_table = physical_keys  # "x11" | "windows" | None: scan codes read as US keys
        self._clock = clock
        self._use_timestamps = use_event_timestamps
        self._ts_offset: float | None = None
        self._detector = BurstDetector(
            settings, clock=clock, on_card=self._on_card, on_failure=self._on_failure, on_state=self._on_state
        )
        self.reader_settings = ReaderSettings()  # what the profile says (shown by the reader test)
        self._ksn_store: KsnStore | None = None
        self._control_chars: frozenset[str] = frozenset()
        self._held: deque[_HeldKey] = deque()
        self._swallowed_releases: dict[int, tuple[int, float]] = {}  # key -> (count, last time)
        self._replaying = False
        self._in_timer = False
        self._enabled = True
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_timer)
        self._app = app or QCoreApplication.instance()
        if self._app is not None:
            self._app.installEventFilter(self)

    # ------------------------------------------------------------------ public

    @classmethod
    def install(cls, app: QCoreApplication | None = None, settings: CaptureSettings | None = None,
                **kwargs) -> SwipeCapture:
        """The application's one capture (created on first use, owned by the application).

        Call it once at start-up with the profile's reader settings; tabs and widgets call it
        without arguments to get the same instance and connect to its signals.
        """
        app = app or QCoreApplication.instance()
        existing = app.findChild(SwipeCapture, cls.OBJECT_NAME) if app is not None else None
        if existing is not None:
            return existing
        capture = cls(app, settings, parent=app, **kwargs)
        capture.setObjectName(cls.OBJECT_NAME)
        return capture

    @classmethod
    def remove_installed(cls, app: QCoreApplication | None = None) -> None:
        """Uninstall and drop the application's capture, if any (at shutdown; between tests)."""
        app = app or QCoreApplication.instance()
        existing = app.findChild(SwipeCapture, cls.OBJECT_NAME) if app is not None else None
        if existing is not None:
            existing.remove()
            existing.setObjectName("")
            existing.setParent(None)
            existing.deleteLater()

    @property
    def detector(self) -> BurstDetector:
        return self._detector

    @property
    def ksns(self):
        """Where seen KSNs are remembered: a ``KsnStore`` (on disk) or ``RecentKsns`` (this run)."""
        return self._detector.ksns

    def configure(self, settings: CaptureSettings, ksns=None) -> None:
        """New detector settings (and KSN memory, when given); a read in progress is given up."""
        self._apply(self._detector.configure(settings, ksns), None)
        self._control_chars = frozenset(c for c in settings.preamble + settings.postamble if c < " ")
        self._reschedule()

    def apply_reader_settings(self, reader: ReaderSettings, data_dir: Path | None = None, *, shared=None) -> None:
        """The profile's reader settings; KSNs are kept in ``data_dir`` (this run only without one,
        or when the file cannot be opened — logged), or in ``shared`` (the PostgreSQL journal's
        memory, shared by every window) when given."""
        old = self._ksn_store
        ksns = None  # None: the detector keeps the memory it has
        if shared is not None:
            ksns = self._ksn_store = shared
        elif data_dir is not None:
            path = Path(data_dir) / KSN_FILE
            if old is not None and old.path == path:
                old.days = reader.ksn_days
            else:
                try:
                    ksns = KsnStore(path, days=reader.ksn_days)
                except Exception as exc:  # noqa: BLE001 - the counter works on with this run's memory
                    log.warning("card read memory %s could not be opened (%s): duplicates are refused "
                                "for this session only", path, exc)
                    ksns = RecentKsns()
                self._ksn_store = ksns if isinstance(ksns, KsnStore) else None
        self.reader_settings = reader
        self.configure(reader.capture_settings(), ksns)
        if old is not None and old is not self._ksn_store:
            old.close()

    @property
    def ksn_store_path(self) -> Path | None:
        """The KSN file in use (None: this run's memory only, or the journal server's)."""
        return self._ksn_store.path if self._ksn_store is not None else None

    @property
    def ksn_store_location(self) -> str | None:
        """The journal server holding the shared KSN memory (None: a file or this run's memory)."""
        return getattr(self._ksn_store, "location", None)

    @property
    def state(self) -> str:
        return self._detector.state

    def set_enabled(self, enabled: bool) -> None:
        """Off: every key goes straight through (held keys are delivered first)."""
        if not enabled:
            self._apply(self._detector.flush(), None)
        self._enabled = enabled

    def remove(self) -> None:
        """Uninstall the filter (held keys are delivered first)."""
        self.set_enabled(False)
        self._timer.stop()
        if self._ksn_store is not None:
            self._ksn_store.close()
            self._ksn_store = None
        if self._app is not None:
            self._app.removeEventFilter(self)
            self._app = None

    def poll(self) -> None:
        """Check the idle timeout now (the timer does this; tests with a fake clock call it)."""
        self._apply(self._detector.poll(self._clock()), None)
        self._reschedule()

    # ------------------------------------------------------------------ Qt

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - Qt override
        if not self._enabled or self._replaying:
            return False
        etype = event.type()
        if etype == QEvent.Type.KeyPress:
            if not isinstance(obj, QWindow):
                return False  # the same key again, delivered to the focus widget
            return self._on_key_press(obj, event)
        if etype == QEvent.Type.ShortcutOverride:
            # Mid-burst, a frame character must not fire a single-key shortcut: claim it for
            # the focus widget so Qt delivers it as a key press (which the capture decides on).
            if (self._detector.in_burst and self._is_plain_char(event)) or self._control_char(event) is not None:
                event.accept()  # a configured control character is the reader's, not a shortcut
                return True
            if self._held and event.key() not in _MODIFIER_KEYS and not self._is_plain_char(event):
                # Another key (F5, Ctrl+S) while characters are held: undecided ones are given
                # back first; if a frame is still arriving, the key's shortcut waits its turn
                # (claimed now, the key is queued behind the frame and delivered after it).
                self._apply(self._detector.flush(), None)
                self._reschedule()
                if self._held:
                    event.accept()
                    return True
            return False
        if etype == QEvent.Type.KeyRelease:
            if not isinstance(obj, QWindow):
                return False
            return self._on_key_release(event)
        if etype in _FLUSH_EVENTS and isinstance(obj, QWindow):
            self._apply(self._detector.flush(), None)
            self._reschedule()
        return False

    def _on_key_press(self, window: QWindow, event: QKeyEvent) -> bool:
        key = event.key()
        if key in _MODIFIER_KEYS:
            return False  # the reader presses Shift for capitals: not a character
        text = self._control_char(event)
        if text is not None:
            t = self._event_time(event)
            copy = _HeldKey(window, key, event.modifiers(), event.text())
            swallow = self._apply(self._detector.feed(text, t), copy)
            self._reschedule()
            if swallow:
                self._count_swallowed(key)
            return swallow
        text = self._physical_char(event)
        if text is None:
            text = "\r" if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) else event.text()
        # Auto-repeat is not a sign of a person: Qt (xcb) flags a release and press of the same
        # key at the same millisecond as auto-repeat, which is what a reader typing "0000" does.
        if len(text) != 1 or (text < " " and text not in "\r\n") or (
            event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                                 | Qt.KeyboardModifier.MetaModifier)
        ):
            # Not a character a reader types (arrows, shortcuts): a person is typing.
            self._apply(self._detector.flush(), None)
            self._reschedule()
            if self._held:
                # Characters are still held (a frame may be arriving): this key waits its turn.
                self._held.append(_HeldKey(window, key, event.modifiers(), event.text(), passenger=True))
                self._count_swallowed(key)
                return True
            return False
        t = self._event_time(event)
        copy = _HeldKey(window, key, event.modifiers(), text)
        swallow = self._apply(self._detector.feed(text, t), copy)
        self._reschedule()
        if swallow:
            self._count_swallowed(key)
        return swallow

    def _control_char(self, event: QKeyEvent) -> str | None:
        """Ctrl+letter as the control character a reader types that way (STX = Ctrl+B), when it
        is one of the configured preamble/postamble characters; else None."""
        if not self._control_chars:
            return None
        mods = event.modifiers() & ~(Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.KeypadModifier)
        key = event.key()
        if mods != Qt.KeyboardModifier.ControlModifier or not Qt.Key.Key_A.value <= key <= Qt.Key.Key_Z.value:
            return None
        char = chr(key - Qt.Key.Key_A.value + 1)
        if char not in self._control_chars:
            return None
        # Taken only where a reader's would be: starting its preamble, or inside a read. Ctrl+C
        # as an ETX postamble is still the cashier's copy key between reads.
        if self._detector.in_burst or char == self._detector.settings.preamble[:1]:
            return char
        return None

    def _count_swallowed(self, key: int) -> None:
        count, _ = self._swallowed_releases.get(key, (0, 0.0))
        self._swallowed_releases[key] = (count + 1, self._clock())

    @staticmethod
    def _is_plain_char(event: QKeyEvent) -> bool:
        text = event.text()
        return len(text) == 1 and (text >= " " or text in "\r\n") and not (
            event.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier
                                 | Qt.KeyboardModifier.MetaModifier))

    def _physical_char(self, event: QKeyEvent) -> str | None:
        """What a US layout types for this physical key (readers assume one), if known."""
        if self._scan_table is None or not event.nativeScanCode():
            return None
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        lock_mask = keymap.X11_LOCK_MASK if self._scan_table == "x11" else keymap.WINDOWS_CAPS_LOCK
        caps = bool(event.nativeModifiers() & lock_mask)
        return keymap.us_character(self._scan_table, event.nativeScanCode(), shift, caps)

    def _on_key_release(self, event: QKeyEvent) -> bool:
        """Releases of swallowed/held presses are swallowed too (a held key is replayed with
        its own release). Counts older than a second are forgotten, so a release that never
        came cannot eat a person's later key release (a button clicks on release)."""
        key = event.key()
        count, since = self._swallowed_releases.get(key, (0, 0.0))
        if not count:
            return False
        if self._clock() - since > 1.0:
            del self._swallowed_releases[key]
            return False
        if count == 1:
            del self._swallowed_releases[key]
        else:
            self._swallowed_releases[key] = (count - 1, since)
        return True

    def _event_time(self, event: QKeyEvent) -> float:
        now = self._clock()
        stamp = event.timestamp() if self._use_timestamps else 0
        if not stamp:
            return now
        seconds = stamp / 1000.0
        lag = now - seconds
        if self._ts_offset is None or lag < self._ts_offset or lag - self._ts_offset > 5.0:
            self._ts_offset = lag  # smallest delivery lag seen (or the OS clock jumped)
        return min(now, seconds + self._ts_offset)

    def _apply(self, actions: list, current: _HeldKey | None) -> bool:
        """Carry out the detector's decisions; True if the current key is to be swallowed."""
        swallow = False
        for action in actions:
            if action is HOLD:
                self._held.append(current)
                swallow = True
            elif action is PASS:
                swallow = False
            elif action is SWALLOW:
                swallow = True
            elif isinstance(action, Replay):
                left = action.count
                while left:
                    held = self._held.popleft()
                    self._deliver(held)
                    left -= not held.passenger
            elif isinstance(action, Discard):
                left, after = action.count, []
                while left:
                    held = self._held.popleft()
                    if held.passenger:
                        after.append(held)  # typed during the frame: delivered after it
                    else:
                        held.text = ""
                        left -= 1
                for held in after:
                    self._deliver(held)
        while self._held and self._held[0].passenger:
            self._deliver(self._held.popleft())  # no held character before it any more
        return swallow

    def _deliver(self, held: _HeldKey) -> None:
        target = held.window if shiboken6.isValid(held.window) else QGuiApplication.focusWindow()
        if target is None:
            return  # the window is gone and nothing has focus: nowhere to type into
        self._replaying = True
        try:
            QCoreApplication.sendEvent(target, QKeyEvent(QEvent.Type.KeyPress, held.key, held.modifiers, held.text))
            QCoreApplication.sendEvent(target, QKeyEvent(QEvent.Type.KeyRelease, held.key, held.modifiers, held.text))
        finally:
            self._replaying = False

    def _reschedule(self) -> None:
        deadline = self._detector.next_deadline()
        if deadline is None:
            self._timer.stop()
            return
        delay_ms = max(0, int((deadline - self._clock()) * 1000) + 1)
        self._timer.start(delay_ms)

    def _on_timer(self) -> None:
        if self._in_timer:
            return
        self._in_timer = True
        try:
            if self._detector.state == RECEIVING:
                # Keys may be queued behind a busy moment: take them in before calling it idle.
                QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 5)
            self._apply(self._detector.poll(self._clock()), None)
        finally:
            self._in_timer = False
        self._reschedule()

    # ------------------------------------------------------------------ detector callbacks

    def _on_card(self, card: SwipedCard, timing: FrameTiming) -> None:
        self.card_did_arrive.emit(card)
        self.read_did_finish.emit(ReadReport(card, None, None, timing))

    def _on_failure(self, error: SwipeRejected, timing: FrameTiming) -> None:
        self.swipe_did_fail.emit(str(error))
        self.read_did_finish.emit(ReadReport(None, str(error), error.check, timing))

    def _on_state(self, state: str) -> None:
        self.state_did_change.emit(state)


def apply_reader_profile(services, app: QCoreApplication | None = None) -> SwipeCapture | None:
    """Give the application's capture the reader settings of ``services.profile`` and its KSN
    memory in ``services.paths.data_dir``. Call it whenever services are (re)loaded; tabs that
    use the reader call it too (it is cheap and idempotent). A profile whose reader settings
    do not load leaves the capture as it was (logged): the profile check reports them."""
    app = app or QCoreApplication.instance()
    if app is None:
        return None
    capture = SwipeCapture.install(app)
    try:
        reader = ReaderSettings.from_profile(services.profile)
    except ValueError as exc:
        log.warning("reader settings of profile %s not applied: %s", services.profile.name, exc)
        return capture
    if getattr(services, "journal_is_server", False):  # the office's journal server: one memory for every window
        from console.adapters.journal import JournalError

        try:
            if capture.reader_settings != reader or capture.ksn_store_location != services.journal_db.display_url:
                capture.apply_reader_settings(reader, shared=services.shared_ksn_store(reader.ksn_days))
        except JournalError as exc:  # the counter refuses payments itself (its journal is unreachable)
            log.warning("card read memory on the journal server not available: %s", exc)
        return capture
    paths = getattr(services, "paths", None)
    data_dir = Path(paths.data_dir) if paths is not None else None
    if capture.reader_settings != reader or (data_dir is not None and capture.ksn_store_path != data_dir / KSN_FILE):
        capture.apply_reader_settings(reader, data_dir)
    return capture
