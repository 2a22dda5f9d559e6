"""Start-up benchmark: time from process start to the main window shown.

Runs ``python -m console --self-test --timing`` (offscreen, its own console home) a few times
and reads the figures it prints, measured from the process's start time in /proc (so
interpreter start-up and every import count): the main window's first paint (menus, tab bar,
status bar, TRAINING marks), and the moment its current tab's content is built (just after).

Baseline, measured in the same run: a bare PySide6 process that creates a QApplication and
shows an empty QMainWindow, timed the same way. The ratio shows what the console adds on
top of Qt itself.

Target (2 cores): main window shown < 1.5 s after process start.

    .venv/bin/python benchmarks/bench_startup.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 1.5

BARE = r"""
import os, time
from pathlib import Path
def age():
    stat = Path("/proc/self/stat").read_text()
    fields = stat[stat.rindex(")") + 2:].split()
    return float(Path("/proc/uptime").read_text().split()[0]) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
w = QMainWindow()
w.resize(1180, 760)
w.show()
app.processEvents()
print(f"timing: main window shown {age():.3f} s after process start")
"""

SHOWN = re.compile(r"main window shown ([0-9.]+) s")
READY = re.compile(r"current tab ready at ([0-9.]+) s")


def run(cmd: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    started = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    wall = time.perf_counter() - started
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    m = SHOWN.search(out.stdout)
    if not m:
        raise SystemExit(f"no timing in output:\n{out.stdout}")
    ready = READY.search(out.stdout)
    return float(m.group(1)), wall, float(ready.group(1)) if ready else float(m.group(1))


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} s  (min {min(values):.3f}, max {max(values):.3f})"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    if not Path("/proc/self/stat").exists():
        print("needs /proc (Linux) to read the process start time")
        return 1
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "BILLER_CONSOLE_HOME": home}
        console_cmd = [sys.executable, "-m", "console", "--self-test", "--timing"]
        run(console_cmd, env)  # warm-up: first run creates the home, compiles .pyc, seeds the sandbox
        bare = [run([sys.executable, "-c", BARE], env) for _ in range(args.runs)]
        console = [run(console_cmd, env) for _ in range(args.runs)]
    bare_shown = [s for s, _w, _r in bare]
    shown = [s for s, _w, _r in console]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"startup benchmark, {args.runs} runs each, {os.cpu_count()} cores, offscreen, load {load:.1f}")
    print(f"  bare PySide6 window shown:      {summary(bare_shown)}")
    print(f"  biller-console window shown:    {summary(shown)}")
    print(f"  its current tab ready:          {summary([r for _s, _w, r in console])}")
    print(f"  self-test process wall time:    {summary([w for _s, w, _r in console])} (opens every tab, then exits)")
    ratio = statistics.median(shown) / statistics.median(bare_shown)
    print(f"  ratio console / bare Qt:        {ratio:.2f}x")
    ok = statistics.median(shown) < TARGET_S
    print(f"  target < {TARGET_S:.1f} s: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
