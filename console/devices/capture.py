"""Keystroke burst detector for keyboard-wedge card readers. Pure Python, injectable clock.

A SREDKey *types* its frame: 150–600 characters about 1.2 ms apart (reader delays of 2, 5,
10, 20 or 50 ms can be configured); people type 60 ms apart and more. The detector sees
every typed character with its time and decides, per character, whether it goes to the
focused widget now (:data:`PASS`), is held back while undecided (:data:`HOLD`) or is dropped
(:data:`SWALLOW`); held characters are later either delivered in order
(:class:`Replay`) or dropped because they were a frame (:class:`Discard`). Nothing a person
types is lost: a burst that does not turn out to be reader output is replayed.

Recognition is by content *and* speed. A burst (characters no more than ``max_gap`` apart)
becomes a frame when it starts like one — ``02``, a hex length that fits a frame and a
known card encode type (in either letter case, for Caps Lock) — or like a frame whose first
one or two characters were lost, or like clear ISO track data (refused, never delivered).
A frame ends by its declared length (followed by the configured postamble, when there is
one), by a CR/LF, or by an idle timeout; then it is parsed by
:func:`console.devices.sred.parse_frame` with the configured preamble/postamble (required when
set), a read by another reader than the expected one is refused, and a KSN seen before is
refused as a duplicate swipe (:mod:`console.devices.ksn_memory`: in memory, or kept on disk
across restarts). With the ``enter`` terminator the reader's Enter after a read is swallowed;
with ``none`` an Enter is always left to the person at the keyboard. The reader state (``listening`` / ``receiving`` / ``error``) and every card
or failure are reported through plain callbacks.

The caller (the Qt event filter) owns the real key events: it keeps the held ones in a queue
in the same order and acts on the decisions in the order they are returned.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

from console.devices.ksn_memory import RecentKsns, Sighting
from console.devices.sred import SwipedCard, SwipeRejected, parse_frame

LISTENING = "listening"
RECEIVING = "receiving"
ERROR = "error"

_HEX = frozenset("0123456789abcdefABCDEF")
_TYPES = frozenset([*range(0x00, 0x05), *range(0x80, 0x86)])
_CLEAR_T1 = re.compile(r"%[A-Za-z][\d*]{12,19}\^")  # masked with * too: another maker's reader (MagTek)
_CLEAR_T2 = re.compile(r";[\d*]{12,19}[=Dd]")
_FRAGMENT_CHARS = 40
_REMAINDER_CHARS = 8


class DuplicateSwipe(SwipeRejected):
    """The same KSN twice: a replayed or double-read frame."""

    def __init__(self, earlier: Sighting | None = None, message: str | None = None):
        when = ""
        if earlier is not None:
            when = time.strftime(" on %m/%d/%Y at %I:%M %p", time.localtime(earlier.seen_at))
        super().__init__("duplicate swipe", message or (
            f"Card read rejected: duplicate swipe (this read was already received{when}). "
            "Please swipe the card again."))

    def __reduce__(self):
        return (type(self), (None, self.message))


class WrongReader(SwipeRejected):
    """The read came from another reader than the one the profile names (a swapped reader?)."""

    def __init__(self, serial: str | None, expected: str, message: str | None = None):
        if message is None and serial:
            message = (f"Card read rejected: it was read by reader {serial}, not by the counter's reader "
                       f"{expected} (Settings › Card reader). If the reader was replaced, have support check "
                       "it and update the setting before taking cards.")
        elif message is None:
            message = (f"Card read rejected: the reader did not send its serial number, so it cannot be "
                       f"checked against the counter's reader {expected} (Settings › Card reader). Have the "
                       "reader send its serial number (enhanced format), or clear the setting.")
        super().__init__("reader serial", message)

    def __reduce__(self):
        return (type(self), (None, "", self.message))


# ----------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class _Simple:
    name: str

    def __repr__(self) -> str:
        return self.name


PASS = _Simple("PASS")  # the character just fed goes to the focused widget now
HOLD = _Simple("HOLD")  # the character just fed is held back (append it to the held queue)
SWALLOW = _Simple("SWALLOW")  # the character just fed is dropped (a frame's postamble)


@dataclass(frozen=True)
class Replay:
    """Deliver the oldest ``count`` held characters now, in order (they were typed by a person)."""

    count: int
    text: str

    def __repr__(self) -> str:
        return f"Replay({self.count})"


@dataclass(frozen=True)
class Discard:
    """Drop the oldest ``count`` held characters (they were a reader frame)."""

    count: int


@dataclass(frozen=True)
class FrameTiming:
    """Inter-key timing of one frame, in milliseconds (for the reader test)."""

    chars: int
    min_ms: float
    median_ms: float
    max_ms: float

    @staticmethod
    def of(times: list[float]) -> FrameTiming:
        gaps = [(b - a) * 1000.0 for a, b in zip(times, times[1:], strict=False)]
        if not gaps:
            return FrameTiming(len(times), 0.0, 0.0, 0.0)
        return FrameTiming(len(times), min(gaps), statistics.median(gaps), max(gaps))


@dataclass(frozen=True)
class CaptureSettings:
    max_gap: float = 0.055  # longest pause inside a reader burst (reader delays go up to 50 ms)
    frame_timeout: float = 0.6  # a started frame is given up after this long without a character
    error_hold: float = 4.0  # how long the "error" state is shown before listening again
    min_length: int = 20  # smallest plausible declared length
    max_chars: int = 4096  # longest plausible frame (typed characters)
    preamble: str = ""  # the preamble the reader is configured to send (required when set)
    postamble: str = ""  # the postamble the reader is configured to send (required when set)
    terminator: str = "enter"  # "enter": the reader's Enter after a read is swallowed; "none"
    expected_serial: str = ""  # the counter's reader: reads by another reader are refused
    remember_ksns: int = 500  # how many recent KSNs are kept in memory (without a KSN store)


# ----------------------------------------------------------------------------- detector

_IDLE = "idle"
_PENDING = "pending"  # a burst that might still become a frame: everything held
_FRAME = "frame"  # reader output being received: everything held, dropped at the end
_PASSTHROUGH = "passthrough"  # a burst that is not reader output (a person, a barcode scanner)
_TRAILING = "trailing"  # after a frame ended: the rest of the burst (postamble) is dropped


class BurstDetector:
    """Decides, character by character, what is reader output. See the module docstring."""

    def __init__(
        self,
        settings: CaptureSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_card: Callable[[SwipedCard, FrameTiming], None] | None = None,
        on_failure: Callable[[SwipeRejected, FrameTiming], None] | None = None,
        on_state: Callable[[str], None] | None = None,
        parser: Callable[..., SwipedCard] = parse_frame,
        ksns=None,
    ):
        self.settings = settings or CaptureSettings()
        self.clock = clock
        self.on_card = on_card
        self.on_failure = on_failure
        self.on_state = on_state
        self._parse = parser
        self._mode = _IDLE
        self._held: list[tuple[str, float]] = []
        self._last_t: float | None = None
        self._declared: int | None = None  # declared total in typed chars (keyboard); hex is 2L+12
        self._expected: int | None = None  # chars the header promises, also when its start was lost
        self._state = LISTENING
        self._error_until: float | None = None
        self._frame_end: int | None = None  # the frame is complete at this length: its postamble follows
        self._ksns = ksns if ksns is not None else RecentKsns(self.settings.remember_ksns)

    # ------------------------------------------------------------------ public API

    @property
    def state(self) -> str:
        return self._state

    @property
    def held_count(self) -> int:
        return len(self._held)

    @property
    def in_burst(self) -> bool:
        """True while keys are being held or swallowed (a frame may be arriving)."""
        return self._mode in (_PENDING, _FRAME, _TRAILING)

    def feed(self, char: str, t: float | None = None) -> list:
        """One typed character (``"\\r"`` for Return) at time ``t`` (seconds)."""
        if len(char) != 1:
            raise ValueError("feed() takes one character")
        t = self.clock() if t is None else t
        actions: list = []
        if self._mode != _IDLE and self._last_t is not None and t - self._last_t > self._gap_limit():
            actions += self._end_burst(t)
        if self._state == ERROR and self._error_until is not None and t >= self._error_until:
            self._set_state(LISTENING)

        if self._mode == _TRAILING and not self._trails(char):
            self._mode = _IDLE  # not a postamble: whatever comes next is judged afresh
        if self._mode == _PASSTHROUGH and (char in "0%;" or self._starts_preamble(char)):
            self._mode = _IDLE  # a frame may start inside a burst that was not one (a preamble)
        if self._mode == _IDLE:
            if self._could_start(char):
                self._mode = _PENDING
                self._held = [(char, t)]
                self._last_t = t
                actions.append(HOLD)
                actions += self._classify(t)
            else:
                actions.append(PASS)
            return actions

        self._last_t = t
        if self._mode == _PASSTHROUGH:
            actions.append(PASS)
            return actions
        if self._mode == _TRAILING:
            actions.append(SWALLOW)
            return actions
        self._held.append((char, t))
        actions.append(HOLD)
        if self._mode == _PENDING:
            actions += self._classify(t)
        elif self._mode == _FRAME:
            actions += self._maybe_complete(char, t)
        return actions

    def poll(self, t: float | None = None) -> list:
        """Call when :meth:`next_deadline` has passed: ends an idle burst, clears the error state."""
        t = self.clock() if t is None else t
        actions: list = []
        if self._mode != _IDLE and self._last_t is not None and t - self._last_t > self._gap_limit():
            actions += self._end_burst(t)
        if self._state == ERROR and self._error_until is not None and t >= self._error_until:
            self._set_state(LISTENING)
        return actions

    def flush(self, t: float | None = None) -> list:
        """A non-character key, a click or a focus change: a person is at the keyboard.

        Undecided characters are delivered now; a frame being received is left alone.
        """
        t = self.clock() if t is None else t
        if self._mode == _PENDING:
            return self._replay_all()
        if self._mode in (_PASSTHROUGH, _TRAILING):
            self._mode = _IDLE
        return []

    def next_deadline(self) -> float | None:
        """When :meth:`poll` should be called next (None: nothing pending)."""
        deadlines = []
        if self._mode != _IDLE and self._last_t is not None:
            deadlines.append(self._last_t + self._gap_limit() + 0.001)
        if self._state == ERROR and self._error_until is not None:
            deadlines.append(self._error_until)
        return min(deadlines) if deadlines else None

    @property
    def ksns(self):
        """Where seen KSNs are remembered (``RecentKsns`` or a ``KsnStore``)."""
        return self._ksns

    def configure(self, settings: CaptureSettings, ksns=None) -> list:
        """New settings (and KSN memory, when given). A read in progress is given up first
        (undecided characters are delivered, a frame's are dropped); returns those actions."""
        actions = self.flush()
        if self._mode == _FRAME and self._held:  # reader output: dropped, never typed into a field
            actions.append(Discard(len(self._held)))
            self._held = []
            self._declared = self._expected = self._frame_end = None
            self._mode = _IDLE
            self._set_state(LISTENING)
        self.settings = settings
        if ksns is not None:
            self._ksns = ksns
        return actions

    def forget_ksns(self) -> None:
        """Forget this run's KSNs (a KSN store keeps what it has on disk)."""
        self._ksns.clear()

    # ------------------------------------------------------------------ internals

    def _gap_limit(self) -> float:
        if self._mode == _FRAME and self._frame_end is None:
            return self.settings.frame_timeout
        return self.settings.max_gap  # also for a postamble: it follows at reader speed

    def _trails(self, char: str) -> bool:
        """A character the reader sends after a read: its terminator (Enter, perhaps CR LF)."""
        return char in "\r\n" and self.settings.terminator != "none"

    def _could_start(self, char: str) -> bool:
        if self._state == ERROR and char >= " ":
            return True  # the rest of a failed frame may follow: hold everything a moment
        return char in _HEX or char in "%;" or self._starts_preamble(char)

    def _starts_preamble(self, char: str) -> bool:
        pre = self.settings.preamble[:1]
        return bool(pre) and char in (pre, pre.swapcase())

    def _set_state(self, state: str) -> None:
        if state != self._state:
            self._state = state
            if state != ERROR:
                self._error_until = None
            if self.on_state:
                self.on_state(state)

    def _text(self) -> str:
        return "".join(c for c, _ in self._held)

    def _body(self, text: str) -> str:
        pre = self.settings.preamble
        if pre and _starts_with_amble(text, pre):
            return text[len(pre):]
        return text

    def _classify(self, t: float) -> list:
        """Pending burst: frame, not a frame, or still undecided."""
        text = self._text()
        pre = self.settings.preamble
        if pre and len(text) <= len(pre) and _starts_with_amble(pre, text):
            return []
        body = self._body(text)
        verdict = _frame_start(body, self.settings)
        if verdict in (None, False) and self._state == ERROR:
            # Right after a failed frame, a reader-speed burst is most likely the rest of it
            # (the reader stalled): eight characters this fast are no person's typing.
            if len(self._held) >= _REMAINDER_CHARS:
                verdict = ("lost", None)
            else:
                return []
        if verdict is None:  # undecided
            return []
        if verdict is False:
            # A person's key just before a swipe (or a scanner's) may share the burst:
            # give back the characters before a possible frame start and keep the rest.
            for k in range(1, len(text)):
                if (text[k] in "0%;" or self._starts_preamble(text[k])) and \
                        _frame_start(self._body(text[k:]), self.settings) is not False:
                    replay = self._held[:k]
                    self._held = self._held[k:]
                    return [Replay(k, "".join(c for c, _ in replay)), *self._classify(t)]
            return self._replay_all(passthrough=True)
        kind, declared = verdict
        self._mode = _FRAME
        self._declared = declared if kind == "frame" else None
        self._expected = declared
        self._error_until = None
        self._set_state(RECEIVING)
        return self._maybe_complete(text[-1], t) if kind == "frame" else []

    def _maybe_complete(self, char: str, t: float) -> list:
        text = self._text()
        body = self._body(text)
        post = self.settings.postamble
        if self._frame_end is not None:  # the frame is complete: its postamble is arriving
            tail = body[self._frame_end:]
            if len(tail) == len(post) and _starts_with_amble(tail, post):
                return self._resolve(t)
            if _starts_with_amble(post, tail):
                return []
            return self._resolve_before_last(t)  # not the postamble: this character is judged afresh
        if char in "\r\n" or (post and self._declared is None and body.endswith(post)):
            if self._far_too_short(body[:-1]):
                return self._give_back_typing()  # a person's "02…" and Enter: theirs, Enter too
            return self._resolve(t)
        if len(text) > self.settings.max_chars:
            return self._resolve(t)
        if self._declared is None:  # lost start or clear tracks: ends by CR or idle time
            return []
        n = len(body)
        keyboard_total = self._declared
        hex_total = 2 * (self._declared - 12) + 12
        if n == keyboard_total and body[-2:] == "03":
            if not set(body) <= _HEX:
                return self._frame_done(n, t)
            try:
                self._parse(body)
            except SwipeRejected:
                return []  # all hex: may be a hex-rendered frame, twice as long
            return self._frame_done(n, t)
        if n >= hex_total and set(body) <= _HEX:
            return self._frame_done(n, t)
        if n > keyboard_total and not set(body) <= _HEX:
            return self._resolve(t)
        return []

    def _frame_done(self, n: int, t: float) -> list:
        """The frame's declared length arrived: read it now, or wait for the postamble."""
        if self.settings.postamble:
            self._frame_end = n
            return []
        return self._resolve(t)

    def _resolve_before_last(self, t: float) -> list:
        """The frame ended before the character just fed: read it, then judge that one afresh
        (it stays held, first in the queue, until decided)."""
        last = self._held.pop()
        actions = self._resolve(t)
        self._mode = _PENDING
        self._held = [last]
        self._last_t = last[1]
        if self._trails(last[0]):
            self._held = []
            self._mode = _TRAILING
            return [*actions, Discard(1)]
        if not self._could_start(last[0]):
            return [*actions, *self._replay_all()]
        return [*actions, *self._classify(t)]

    def _end_burst(self, t: float) -> list:
        if self._mode == _PENDING:
            return self._replay_all()
        if self._mode == _FRAME:
            if self._far_too_short(self._body(self._text())):
                return self._give_back_typing()
            return self._resolve(t)
        self._mode = _IDLE
        self._held = []
        return []

    def _far_too_short(self, body: str) -> bool:
        """Far too short for the frame its header declares: a person typing in a burst (or a
        busy GUI delivering keys together), not a reader — a reader types the whole frame."""
        return self._expected is not None and len(body) * 2 < min(self._expected, 60)

    def _give_back_typing(self) -> list:
        self._set_state(LISTENING)
        return self._replay_all()

    def _replay_all(self, *, passthrough: bool = False) -> list:
        text = self._text()
        count = len(self._held)
        self._held = []
        self._declared = self._expected = self._frame_end = None
        self._mode = _PASSTHROUGH if passthrough else _IDLE
        if self._state == RECEIVING:
            self._set_state(LISTENING)
        return [Replay(count, text)] if count else []

    def _resolve(self, t: float) -> list:
        """The frame is complete (or given up): parse it, report, drop its keystrokes."""
        text = self._text()
        times = [ts for _, ts in self._held]
        count = len(self._held)
        self._held = []
        self._declared = self._expected = self._frame_end = None
        self._mode = _TRAILING
        timing = FrameTiming.of(times)
        try:
            card = self._parse(text, preamble=self.settings.preamble, postamble=self.settings.postamble)
            expected = self.settings.expected_serial
            if expected and card.format != "keyed" and card.serial != expected:
                raise WrongReader(card.serial, expected)  # keyed entry frames carry no serial
            earlier = self._ksns.remember(card.ksn, card.serial or "")
            if earlier is not None:
                raise DuplicateSwipe(earlier)
        except SwipeRejected as exc:
            failure = exc
            card = None
        finally:
            text = ""
        if card is not None:
            self._set_state(LISTENING)
            if self.on_card:
                self.on_card(card, timing)
        else:
            self._set_state(ERROR)
            self._error_until = t + self.settings.error_hold
            if self.on_failure:
                self.on_failure(failure, timing)
        return [Discard(count)]


def _starts_with_amble(text: str, amble: str) -> bool:
    """``text`` starts with ``amble`` as typed, or with Caps Lock on (letters flipped)."""
    return text.startswith(amble) or text.startswith(amble.swapcase())


def _is_hex(s: str) -> bool:
    return all(c in _HEX for c in s)


def _header(candidate: str, settings: CaptureSettings):
    """For text that should start with a frame header: None (undecided), False, or total chars."""
    model = "02"
    for i, c in enumerate(candidate[:8]):
        if i < 2:
            if c != model[i]:
                return False
        elif c not in _HEX:
            return False
    if len(candidate) < 8:
        return None
    length = int(candidate[4:6] + candidate[2:4], 16)
    if int(candidate[6:8], 16) not in _TYPES:
        return False
    if not settings.min_length <= length <= settings.max_chars:
        return False
    return length + 12


def _frame_start(body: str, settings: CaptureSettings):
    """Classify the start of a burst: None (undecided), False (not reader output),
    ("frame", declared_total_chars), ("lost", chars still expected or None) or ("clear", None)."""
    if not body:
        return None
    verdicts = []
    direct = _header(body, settings)
    if direct not in (None, False):
        return ("frame", direct)
    verdicts.append(direct)
    for lost in ("0", "02"):
        v = _header(lost + body, settings)
        if v not in (None, False):
            return ("lost", v - len(lost))  # the chars still to come, without the lost ones
        verdicts.append(v)
    clear = _clear_start(body)
    if clear is True:
        return ("clear", None)
    verdicts.append(clear)
    if any(v is None for v in verdicts):
        return None
    # The middle or end of a frame (its start went elsewhere): a long run of hex with letters.
    # Digits only is a barcode scanner or a number: that is given back.
    if _is_hex(body):
        if len(body) >= _FRAGMENT_CHARS:
            return ("lost", None) if sum(c not in "0123456789" for c in body) >= 4 else False
        return None
    return False


def _clear_start(body: str):
    """Clear ISO track data at the start of a burst: True, None (undecided) or False."""
    if body[0] == "%":
        if _CLEAR_T1.match(body):
            return True
        return None if re.fullmatch(r"%([A-Za-z][\d*]{0,19})?", body) else False
    if body[0] == ";":
        if _CLEAR_T2.match(body):
            return True
        return None if re.fullmatch(r";[\d*]{0,19}", body) else False
    return False


# ----------------------------------------------------------------------------- simulation


@dataclass
class StreamOutcome:
    """What a focused text field would have received, and what the detector reported."""

    delivered: str
    cards: list[SwipedCard]
    failures: list[SwipeRejected]
    states: list[str]


def run_stream(keys: list[tuple[str, float]], settings: CaptureSettings | None = None,
               detector: BurstDetector | None = None) -> StreamOutcome:
    """Feed ``(char, time)`` keystrokes through a detector exactly as the Qt filter does and
    return what the focused widget would get. Used by tests, the reader test and benchmarks."""
    cards: list[SwipedCard] = []
    failures: list[SwipeRejected] = []
    states: list[str] = []
    det = detector or BurstDetector(settings)
    det.on_card = lambda card, timing: cards.append(card)
    det.on_failure = lambda exc, timing: failures.append(exc)
    det.on_state = states.append
    held: list[str] = []
    delivered: list[str] = []

    def apply(actions: list, char: str | None) -> None:
        for action in actions:
            if action is HOLD:
                held.append(char)
            elif action is PASS:
                delivered.append(char)
            elif isinstance(action, Replay):
                delivered.extend(held[: action.count])
                del held[: action.count]
            elif isinstance(action, Discard):
                del held[: action.count]

    last = 0.0
    for char, t in keys:
        deadline = det.next_deadline()
        while deadline is not None and deadline <= t:  # the idle timer would have fired
            apply(det.poll(deadline), None)
            nxt = det.next_deadline()
            deadline = nxt if nxt != deadline else None
        apply(det.feed(char, t), char)
        last = t
    apply(det.poll(last + 10.0), None)
    return StreamOutcome("".join(delivered), cards, failures, states)


def typed(text: str, start: float = 0.0, gap: float | Callable[[int], float] = 0.0012) -> list[tuple[str, float]]:
    """Keystrokes for ``text``: ``gap`` seconds apart (a number or a function of the index)."""
    out = []
    t = start
    for i, char in enumerate(text):
        out.append((char, t))
        t += gap(i) if callable(gap) else gap
    return out
