"""Progress on the command line: a bar with counts, rate and time left when stderr is a terminal
(a real pseudo-terminal here), nothing on stderr when it is piped, nothing with ``--json``.

Every command runs as its own process against the embedded sandbox (inputs generated here).
"""

from __future__ import annotations

import fcntl
import io
import json
import os
import re
import struct
import subprocess
import sys
import termios
import threading
from argparse import Namespace
from pathlib import Path

import pytest

from console.cli.progress import progress_bar
from console.sandbox.bill_pdf import build_bill_batch
from console.sandbox.exports import write_export
from console.sandbox.invoice_export import write_invoice_export
from console.sandbox.seed import demo_customers
from tests.lockbox_data import payment_rows, write_gl_map, write_payments

pytestmark = pytest.mark.usefixtures("cli_as_clerk")  # commands that act name who acts

CLI = [sys.executable, "-m", "console"]
# tqdm: "<message>:  40%|████      | 12/30 [00:01<00:02, 9.87/s]" (count/total [elapsed<left, rate])
BAR = re.compile(r"\d+(?:\.\d+)?k?/\d+(?:\.\d+)?k? \[\d\d:\d\d<(?:\d\d:\d\d|\?), +(?:[\d.]+|\?)k?/s\]")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("inputs")
    customers = demo_customers(30)
    build_bill_batch(customers, d / "batch.pdf")
    write_invoice_export(d / "invoices.txt", 30)
    write_export("payments", d / "payments.csv", 40)
    write_payments(d / "lockbox.csv", payment_rows(200))
    write_gl_map(d / "gl.csv")
    return {"batch": d / "batch.pdf", "invoices": d / "invoices.txt", "payments": d / "payments.csv",
            "lockbox": d / "lockbox.csv", "gl": d / "gl.csv", "dir": d}


def commands(i: dict[str, Path], n: str) -> dict[str, list[str]]:
    d = i["dir"]
    return {
        "post": ["post", str(i["payments"]), "--kind", "payments"],
        "invoices send": ["invoices", "send", str(i["invoices"])],
        "lockbox build": ["lockbox", "build", "--payments", str(i["lockbox"]), "--gl-map", str(i["gl"]),
                          "--out", str(d / f"lockbox-{n}.txt")],
        "bills index": ["bills", "index", str(i["batch"]), "--workers", "1"],
        "bills split": ["bills", "split", str(i["batch"]), "--out", str(d / f"bills-{n}"), "--invoices",
                        str(i["invoices"])],
        "adjustments sync": ["adjustments", "sync"],
    }


def run_on_a_terminal(argv: list[str], home: Path) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal of 24x100 (stdout piped); (exit, stdout, terminal text)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    env = {**os.environ, "BILLER_CONSOLE_HOME": str(home)}
    proc = subprocess.Popen([*CLI, *argv], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        out, _ = proc.communicate(timeout=240)
    finally:
        reader.join(10)
        os.close(master)
    return proc.returncode, out.decode(), b"".join(chunks).decode("utf-8", "replace")


def run_piped(argv: list[str], home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "BILLER_CONSOLE_HOME": str(home)}
    return subprocess.run([*CLI, *argv], stdin=subprocess.DEVNULL, capture_output=True, text=True, env=env,
                          timeout=240)


@pytest.mark.parametrize("name", ["post", "invoices send", "lockbox build", "bills index", "bills split",
                                  "adjustments sync"])
def test_a_bar_on_a_terminal_and_nothing_when_piped(name, inputs, tmp_path):
    code, out, terminal = run_on_a_terminal(commands(inputs, "tty")[name], tmp_path / "tty-home")
    assert code in (0, 1), (out, terminal)
    assert BAR.search(terminal), terminal[-2000:]
    assert "\r" in terminal and "Traceback" not in terminal
    assert not BAR.search(out)  # the result on stdout stays clean

    piped = run_piped(commands(inputs, "pipe")[name], tmp_path / "pipe-home")
    assert piped.returncode == code, piped.stderr
    assert piped.stderr == ""
    assert "\r" not in piped.stdout and not BAR.search(piped.stdout)


def test_json_on_a_terminal_draws_no_bar(inputs, tmp_path):
    code, out, terminal = run_on_a_terminal([*commands(inputs, "json")["lockbox build"], "--json"], tmp_path)
    assert code == 0
    assert json.loads(out)["ok"] is True
    assert terminal == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_helper_restarts_the_bar_per_phase_and_is_off_without_a_terminal():
    with progress_bar(Namespace(json=False), io.StringIO()) as progress:
        assert progress is None  # not a terminal
    with progress_bar(Namespace(json=True), _Terminal()) as progress:
        assert progress is None  # --json
    screen = _Terminal()
    with progress_bar(Namespace(json=False), screen) as progress:
        progress(0, 30, "reading")
        progress(30, 30, "reading")
        progress(0, 5, "posting")  # a new phase, a new total
        progress(2, 5, "posting")
        progress(3, None, "fetching")  # no total: a count and a rate
    text = screen.getvalue()
    assert "reading:   0%" in text and "0/30 [" in text
    assert "posting:   0%" in text and "0/5 [" in text
    assert "fetching: 3 [" in text
    assert text.endswith("\r")  # the bar is erased: the result printed next stands alone
