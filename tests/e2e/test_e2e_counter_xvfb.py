"""End to end: a cashier takes a card payment in the real, running console under Xvfb.

The console is started as its own process (``python -m console``: the GUI on its embedded
sandbox, TRAINING) on a private X server with a private BILLER_CONSOLE_HOME, and driven only
through X keyboard events with xdotool — the same route as a keyboard and a keyboard-wedge
card reader: sign in (typed) → F2, account number, Enter → amount → a swipe (an encrypted
IDTech frame typed at reader speed, 2 ms a key, with the focus in a text field) → F5. Then the
sandbox's Caselle must hold exactly one receipt for that account and amount, posted through
the journal, and no file the console wrote may hold the card number, track data or the frame.

In the same session, a person typing "02…" (how every frame starts, even a whole frame
header) into the search field gets exactly what they typed — at 80 ms a key, and at 40 ms (a
fast typist: a burst the capture holds back as a possible frame) followed at once by Ctrl+A,
Ctrl+C, which must act on the whole text (they once overtook the held characters); and a
fast "0251000123" ended by Enter runs the search (it was once taken for a truncated card read).
Last, Ctrl+L locks the console and the PIN unlocks it, after which its shortcuts work again.

xdotool's ``--delay`` is the time from one key press to the next split in two (press, half
the delay, release, half the delay), so ``--delay 160`` types a key every ~80 ms.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from tests.swipe_frames import FrameSpec, build_frame

REPO = Path(__file__).resolve().parents[2]
PAN = "4012888888881881"  # a Visa test number (Luhn-valid), used nowhere else in the suite
OPERATOR, PIN = "cashier1", "1111"
HUMAN_TEXT = "02A30180 Pioneer 02"  # a frame's own header, typed by a person
READER_DELAY_MS = "2"  # a SREDKey configured for 2 ms between characters (~1 ms a key)
HUMAN_DELAY_MS = "160"  # a key every ~80 ms
FAST_DELAY_MS = "80"  # a key every ~40 ms: faster than the capture's 55 ms burst gap
FAST_KEY_DELAY_MS = "40"  # ``key --delay`` is the full time from one key to the next
FAST_SEARCH = "0251000123"  # a phone-like number whose start reads as a frame header
TYPING_DELAY_MS = "30"  # sign-in, account number, amount: a quick typist
START_S = 40.0  # generous: a cold start on a loaded CI machine
STEP_S = 20.0


def pick_customer():
    """A demo customer who owes something and may pay part of it, so the typed amount (not the
    amount due the tab fills in) is what a receipt for the right amount proves."""
    from console.sandbox.seed import demo_customers

    for c in demo_customers():
        if c.status == "ACTIVE" and c.partial_payments_allowed and c.amount_due >= c.minimum_due + Decimal("10"):
            amount = (c.minimum_due + Decimal("5")).quantize(Decimal("1")) + Decimal("0.50")  # cents .50: approved
            if c.minimum_due <= amount < c.amount_due:
                return c, amount
    raise AssertionError("no demo customer with a partial amount due")


def card_frame() -> tuple[str, FrameSpec]:
    expiry = f"{(dt.date.today().year + 3) % 100:02d}12"
    spec = FrameSpec(pan=PAN, name="E2E/TESTER", expiry=expiry, ksn="62994900000000E00123")
    return build_frame(spec), spec


class Console:
    """The console process, its log, and waits on what it wrote."""

    def __init__(self, home: Path, display, out: Path):
        self.home = home
        self.display = display
        self.out = out
        self.env = dict(display.env, BILLER_CONSOLE_HOME=str(home), QT_QPA_PLATFORM="xcb")
        self.env.pop("PYTEST_CURRENT_TEST", None)
        self.proc: subprocess.Popen | None = None
        self.log = home / "logs" / "console.log"

    def start(self) -> None:
        with self.out.open("wb") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", "console"], cwd=REPO, env=self.env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def why(self) -> str:
        out = self.out.read_text(errors="replace")[-3000:] if self.out.exists() else ""
        log = self.log_text()[-3000:]
        return f"\n--- console output ---\n{out}\n--- console.log ---\n{log}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_window(self, name_regex: str, timeout: float = STEP_S) -> str:
        """The window's id once it is mapped (``xdotool search --sync``, in short rounds so a
        console that died is reported at once, with its output)."""
        deadline = time.monotonic() + timeout
        while self.alive() and time.monotonic() < deadline:
            try:
                wid = self.display.xdotool("search", "--sync", "--onlyvisible", "--name", name_regex, timeout=2.0)
            except subprocess.TimeoutExpired:
                continue
            return wid.splitlines()[0]
        raise AssertionError(f"no window named {name_regex!r} after {timeout:.0f} s "
                             f"(console running: {self.alive()}){self.why()}")

    def wait_focus(self, wid: str, what: str) -> None:
        """The X keyboard focus is on ``wid`` (no window manager here: the console must take it)."""
        deadline = time.monotonic() + 10
        focus = ""
        while time.monotonic() < deadline:
            focus = self.display.xdotool("getwindowfocus")
            if focus == wid:
                return
            time.sleep(0.05)
        raise AssertionError(f"the {what} did not get the keyboard (focus on window {focus}, not {wid})")

    def wait_log(self, needle: str, *, after: int, timeout: float = STEP_S) -> int:
        """Wait until ``needle`` appears in the console log after offset ``after``; the new offset."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_text()
            at = text.find(needle, after)
            if at >= 0:
                return at + len(needle)
            if not self.alive():
                break
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not logged within {timeout:.0f} s{self.why()}")

    def cli(self, *args: str) -> dict:
        done = subprocess.run([sys.executable, "-m", "console", *args], cwd=REPO, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode in (0, 2), f"biller-console {' '.join(args)}: {done.returncode} {done.stderr}"
        return json.loads(done.stdout)

    def stop(self) -> None:
        """Ctrl+Q, then make sure the process ends (killed after a timeout)."""
        if self.proc is None:
            return
        if self.alive():
            try:
                self.display.xdotool("key", "ctrl+q", timeout=10)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)


def read_clipboard(display, expected: str, timeout: float = 5.0) -> str:
    """The clipboard's text once it is ``expected`` (or whatever it is at the deadline)."""
    deadline = time.monotonic() + timeout
    text = _clipboard(display)
    while text != expected and time.monotonic() < deadline:
        time.sleep(0.1)
        text = _clipboard(display)
    return text


def wait_for_focused_text(display, ok, timeout: float = STEP_S) -> str:
    """Select all and copy in the focused field until its text is ``ok`` (a sync point on
    what the GUI shows, instead of a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while True:
        display.xdotool("key", "ctrl+a", "ctrl+c")
        text = _clipboard(display)
        if ok(text):
            return text
        if time.monotonic() > deadline:
            raise AssertionError(f"the focused field still holds {text!r} after {timeout:.0f} s")
        time.sleep(0.1)


def _clipboard(display) -> str:
    """The X clipboard's text, read by a separate small Qt client on the same display."""
    code = ("import sys\nfrom PySide6.QtGui import QGuiApplication\napp = QGuiApplication(sys.argv[:1])\n"
            "sys.stdout.write(app.clipboard().text())\n")
    env = dict(display.env, QT_QPA_PLATFORM="xcb")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for_receipt(home: Path, timeout: float) -> dict:
    """Poll the sandbox Caselle (the same read-only report as ``sandbox --report``) for a receipt."""
    from console.sandbox.caselle_server import report

    db = home / "data" / "sandbox" / "caselle.sqlite3"
    deadline = time.monotonic() + timeout
    data = {}
    while time.monotonic() < deadline:
        try:
            data = report(db)
        except Exception:  # noqa: BLE001 - the console may be creating the database right now
            data = {}
        if data.get("receipts"):
            return data
        time.sleep(0.1)
    return data


def files_holding(home: Path, secrets_: dict[str, bytes]) -> list[str]:
    found = []
    for path in sorted(home.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for label, needle in secrets_.items():
            if needle in data or needle in data.replace(b"\x00", b""):  # also UTF-16 text
                found.append(f"{path.relative_to(home)}: {label}")
    return found


def test_a_cashier_takes_a_card_payment_in_the_running_console(xdisplay, console_home, tmp_path):
    """``console_home`` is the test's own BILLER_CONSOLE_HOME (tests/conftest.py); the console
    process and the CLI calls get the same one."""
    customer, amount = pick_customer()
    frame, spec = card_frame()
    console = Console(console_home, xdisplay, tmp_path / "console-output.txt")
    started = time.monotonic()
    console.start()
    try:
        # ---- sign in, typed
        signin = console.wait_window("Sign in — Biller Console", timeout=START_S)
        console.wait_focus(signin, "sign-in dialog")
        xdisplay.xdotool("type", "--delay", TYPING_DELAY_MS, OPERATOR)
        xdisplay.xdotool("key", "Tab")
        xdisplay.xdotool("type", "--delay", TYPING_DELAY_MS, PIN)
        xdisplay.xdotool("key", "Return")
        main = console.wait_window("Biller Console — sandbox")
        console.wait_focus(main, "main window (after sign-in)")
        # the Counter Payments tab is up and the sandbox answers (the first connection check)
        offset = console.wait_log("ApiInfo", after=0)

        # ---- a person typing "02…" into the search field loses nothing, slow or fast
        for delay, text in ((HUMAN_DELAY_MS, HUMAN_TEXT), (FAST_DELAY_MS, HUMAN_TEXT.replace("Pioneer", "Fast"))):
            xdisplay.xdotool("key", "F2")  # the search field, its text selected
            xdisplay.xdotool("type", "--delay", delay, text)
            xdisplay.xdotool("key", "ctrl+a", "ctrl+c")  # at once, while keys may still be held
            assert read_clipboard(xdisplay, text) == text, f"typed {text!r} at --delay {delay}"
        # ... and a fast "02…" ended by Enter is a search, not a failed card read
        xdisplay.xdotool("key", "F2")
        # (``key`` sends a real Return; ``type`` turns "\n" into Linefeed, which no field takes)
        xdisplay.xdotool("key", "--delay", FAST_KEY_DELAY_MS, *FAST_SEARCH, "Return")
        offset = console.wait_log("SearchAccounts", after=offset, timeout=10)

        # ---- find the account: F2, account number, Enter (one match opens it)
        xdisplay.xdotool("key", "F2")
        xdisplay.xdotool("type", "--delay", TYPING_DELAY_MS, customer.account_number)
        xdisplay.xdotool("key", "Return")
        offset = console.wait_log("CustomerDetail", after=offset)
        # the tab has shown the account once the focused field holds an amount (the amount
        # due, filled in and selected) instead of the account number typed into the search
        focused = wait_for_focused_text(xdisplay, lambda text: re.fullmatch(r"\d+\.\d\d", text) is not None)
        assert Decimal(focused) > 0, focused

        # ---- the amount replaces the amount due (selected), then the swipe into that field
        xdisplay.xdotool("type", "--delay", TYPING_DELAY_MS, f"{amount:.2f}")
        xdisplay.xdotool("type", "--delay", READER_DELAY_MS, frame, timeout=60)
        xdisplay.xdotool("key", "F5")

        # ---- exactly one receipt in Caselle for this account and amount, posted via the journal
        caselle = wait_for_receipt(console_home, timeout=STEP_S)
        assert caselle.get("receipts") == 1, f"no receipt after F5: {caselle}{console.why()}"
        assert Decimal(caselle["total"]) == amount
        payments = []
        deadline = time.monotonic() + STEP_S
        while time.monotonic() < deadline:
            payments = console.cli("counter", "today", "--json")["payments"]
            if payments and payments[0]["state"] == "posted":
                break
            time.sleep(0.2)
        assert len(payments) == 1, payments
        p = payments[0]
        assert (p["account"], Decimal(p["amount"]), p["tender"], p["state"]) == (
            customer.account_number, amount, "CARD", "posted"), p
        assert p["paid_by"].endswith(spec.masked_pan()), p
        report = console.cli("sandbox", "--report", "--json")
        assert (report["receipts"], Decimal(report["total"]), report["references_posted_more_than_once"]) == (
            1, amount, []), report
        assert "Ambiguous shortcut" not in console.log_text()

        # ---- lock (Ctrl+L) and unlock with the PIN: the lock screen covers the main window (its
        # title says so) and has the keyboard; once unlocked, the tab's keys work again
        locked_at = len(console.log_text())
        xdisplay.xdotool("key", "ctrl+l")
        lock = console.wait_window("Console locked")
        assert lock == main  # the cover is inside the main window, not a window beside it
        console.wait_focus(lock, "lock screen")
        xdisplay.xdotool("type", "--delay", TYPING_DELAY_MS, PIN)
        xdisplay.xdotool("key", "Return")
        console.wait_log("console unlocked by", after=locked_at)
        console.wait_focus(main, "main window (after unlocking)")
        xdisplay.xdotool("key", "F2")  # a shortcut works again: the search field, selected
        xdisplay.xdotool("key", "ctrl+c")
        assert read_clipboard(xdisplay, customer.account_number) == customer.account_number
    finally:
        xdisplay.screenshot(tmp_path / "e2e-counter-final.png")
        console.stop()
    assert console.proc.returncode == 0, f"the console ended with {console.proc.returncode}{console.why()}"
    elapsed = time.monotonic() - started

    # ---- PCI: nothing the console wrote holds the card number, the tracks or the frame
    encrypted = frame[frame.rindex("?*") + 2:][:48]  # a stretch of the encrypted tracks, as typed
    secrets_ = {"clear PAN": PAN.encode(), "clear track 2": f"{PAN}={spec.expiry}".encode(),
                "the frame": frame.encode(), "encrypted track data": encrypted.encode(),
                "encrypted track data (lower case)": encrypted.lower().encode(),
                "encrypted track data (bytes)": bytes.fromhex(encrypted),
                "the frame's start": frame[:60].encode()}
    assert files_holding(console_home, secrets_) == []
    output = console.out.read_bytes()
    assert [label for label, needle in secrets_.items() if needle in output] == []
    print(f"e2e counter payment: {elapsed:.1f} s from start to the console closed")

