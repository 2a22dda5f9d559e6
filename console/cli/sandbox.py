"""``biller-console sandbox``: run, inspect, reset and poke the embedded sandbox.

    biller-console sandbox [--port N] [--api-version V] [--latency-ms N] [--error-rate P]
                           [--timeout-rate P] [--drop-after-commit-rate P] [--seed S]
    biller-console sandbox --report [--json]
    biller-console sandbox --reset
    biller-console sandbox --adjust ACCOUNT AMOUNT REASON

Other areas add their own flags without editing this file: a module
``console/cli/sandbox_<name>.py`` (found automatically), or one listed in
:data:`EXTENSIONS`, may define

- ``add_arguments(parser)``: add its flags (e.g. ``--export-payments FILE --count N``);
- ``handle(args) -> int | None``: run when its flags are given; ``None`` = not mine;
- ``report(data_dir) -> dict``: an extra section for ``--report`` (keyed by module name).

Registrar callables can also be appended to :data:`ARGUMENT_REGISTRARS` /
:data:`HANDLERS` at import time.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import shutil
import signal
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from console.paths import Paths

#: Extension modules by name (besides the auto-discovered ``console.cli.sandbox_*``).
EXTENSIONS: list[str] = []
#: Extra-argument registrars: ``f(parser)``.
ARGUMENT_REGISTRARS: list[Callable[[argparse.ArgumentParser], None]] = []
#: Extra handlers: ``f(args) -> int | None`` (None = not handled, go on).
HANDLERS: list[Callable[[argparse.Namespace], int | None]] = []

API_VERSIONS = ("2021.05", "2021.02.160")


def _extensions() -> list[ModuleType]:
    import console.cli as cli_pkg

    names = list(EXTENSIONS)
    for info in pkgutil.iter_modules(cli_pkg.__path__):
        if info.name.startswith("sandbox_"):
            names.append(f"console.cli.{info.name}")
    modules = []
    for name in dict.fromkeys(names):
        try:
            modules.append(importlib.import_module(name))
        except ImportError as exc:
            print(f"sandbox: extension {name} skipped: {exc}", file=sys.stderr)
    return modules


def _rate(text: str) -> float:
    try:
        value = float(text)  # a probability, not money
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number between 0 and 1") from exc
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not between 0 and 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from exc
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is negative")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "sandbox", help="run the embedded sandbox (Caselle, Invoice Cloud, SFTP, SMTP stand-ins) in the foreground",
        description="Run the sandbox in the foreground (Ctrl-C stops it), or inspect / reset / adjust its state. "
                    "While it runs, the console and the CLI with the sandbox profile use it.")
    p.add_argument("--port", type=_non_negative_int, default=0,
                   help="Caselle stand-in port; other parts use the next ports (default: free ports)")
    p.add_argument("--api-version", choices=API_VERSIONS, default="2021.05",
                   help="Caselle Connect API version to emulate (2021.02.160 lacks ACH reject and set_direct_pay_status)")
    p.add_argument("--latency-ms", type=_non_negative_int, default=0, help="added latency per request")
    p.add_argument("--error-rate", type=_rate, default=0.0, help="share of requests answered HTTP 503 (0..1)")
    p.add_argument("--timeout-rate", type=_rate, default=0.0,
                   help="share of requests that stall past the client's timeout and are never answered (0..1)")
    p.add_argument("--drop-after-commit-rate", type=_rate, default=0.0,
                   help="share of requests executed and committed, then dropped before answering (0..1)")
    p.add_argument("--timeout-seconds", type=float, default=35.0,
                   help="how long a timeout fault stalls before closing the connection (default 35)")
    p.add_argument("--token-lifetime-s", type=int, default=None, metavar="SECONDS",
                   help="issue Caselle tokens that expire after SECONDS (default 6 months; negative = already "
                        "expired, to try the console's expiry warnings)")
    p.add_argument("--seed", type=int, default=None, help="seed of the fault-injection RNG (repeatable runs)")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--reset", action="store_true", help="wipe the sandbox state (it is re-seeded on next start)")
    action.add_argument("--report", action="store_true",
                        help="print what the sandbox holds (receipts per batch with counts and totals)")
    action.add_argument("--adjust", nargs=3, metavar=("ACCOUNT", "AMOUNT", "REASON"),
                        help="create an adjustment on a demo account (negative = credit)")
    p.add_argument("--json", action="store_true", help="with --report/--adjust: JSON output")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="while running: print one line per request (operation, operator, faults, error codes)")
    for module in _extensions():
        if hasattr(module, "add_arguments"):
            module.add_arguments(p)
    for registrar in ARGUMENT_REGISTRARS:
        registrar(p)
    p.set_defaults(func=handle)


def _data_dir() -> Path:
    return Paths.default().sandbox_dir


def handle(args: argparse.Namespace) -> int:
    if args.reset:
        return _reset()
    if args.report:
        return _report(args)
    if args.adjust:
        return _adjust(args)
    for module in _extensions():
        if hasattr(module, "handle"):
            code = module.handle(args)
            if code is not None:
                return int(code)
    for handler in HANDLERS:
        code = handler(args)
        if code is not None:
            return int(code)
    return _run(args)


# --------------------------------------------------------------------------- actions
def _reset() -> int:
    from console.sandbox.runner import running_sandbox

    data_dir = _data_dir()
    running = running_sandbox(data_dir)
    if running is not None:
        print(f"A sandbox is running (pid {running.pid}); stop it (Ctrl-C) before --reset.", file=sys.stderr)
        return 1
    if data_dir.exists():
        shutil.rmtree(data_dir)
    print(f"Sandbox state wiped ({data_dir}); it is seeded again on next start.")
    return 0


def build_report(data_dir: Path | None = None) -> dict[str, Any]:
    """The report: Caselle receipts and batches, plus each extension's section."""
    from console.sandbox.caselle_server import DB_NAME, report

    data_dir = data_dir or _data_dir()
    data = report(data_dir / DB_NAME)
    for module in _extensions():
        if hasattr(module, "report"):
            try:
                data[module.__name__.rsplit(".", 1)[-1]] = module.report(data_dir)
            except Exception as exc:  # noqa: BLE001 - one section must not hide the rest
                data[module.__name__.rsplit(".", 1)[-1]] = {"error": str(exc)}
    return data


def _report(args) -> int:
    data = build_report()
    if args.json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    print(f"Sandbox state: {data['database']}")
    print(f"Receipts (not voided): {data['receipts']}  total {data['total']}")
    print(f"Voided: {data['voided']}  total {data['voided_total']}   Reversed (ACH reject): {data['reversed']}")
    if data["batches"]:
        print()
        print(f"{'Batch':<12} {'Date':<10} {'Status':<6} {'Receipts':>8} {'Total':>14} {'Voided':>6} "
              f"{'Voided total':>14} {'Reversed':>8}")
        for b in data["batches"]:
            print(f"{b['batch_id']:<12} {b['date']:<10} {b['status']:<6} {b['receipts']:>8} {b['total']:>14} "
                  f"{b['voided']:>6} {b['voided_total']:>14} {b['reversed']:>8}")
    else:
        print("No batches yet.")
    print(f"Adjustments created in the sandbox: {data['adjustments_created']}")
    if data["references_posted_more_than_once"]:
        print("References posted more than once: " + ", ".join(data["references_posted_more_than_once"]))
    else:
        print("References posted more than once: none")
    base = {"receipts", "voided", "reversed", "total", "voided_total", "references_posted_more_than_once",
            "batches", "adjustments_created", "database"}
    for section, content in data.items():
        if section in base:
            continue
        print(f"\n[{section}]")
        if isinstance(content, dict):
            for key, value in content.items():
                print(f"  {key}: {json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value}")
        else:
            print(f"  {content}")
    return 0


def _adjust(args) -> int:
    from console.domain.money import AmountError, parse_amount
    from console.sandbox.caselle_server import DB_NAME, ApiError, CaselleStore

    account, amount_text, reason = args.adjust
    try:
        amount: Decimal = parse_amount(amount_text)
    except AmountError as exc:
        print(f"sandbox --adjust: {exc}", file=sys.stderr)
        return 1
    store = CaselleStore(_data_dir() / DB_NAME)
    try:
        row = store.create_adjustment(account.strip(), amount, reason, "sandbox-cli")
    except ApiError as exc:
        print(f"sandbox --adjust: {exc.message}", file=sys.stderr)
        return 1
    finally:
        store.close()
    result = {"adjustment_id": row["adjustment_id"], "sequence": row["sequence"], "account": row["account_number"],
              "amount": str(amount), "reason": row["reason"], "adjusted_at": row["adjusted_at"],
              "balance_after": f"{Decimal(row['balance_after_cents']) / 100:.2f}"}
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(f"Adjustment {result['adjustment_id']} on {result['account']}: {result['amount']} ({result['reason']}); "
              f"balance now {result['balance_after']}")
    return 0


def _run(args) -> int:
    from console.sandbox.runner import Sandbox, SandboxOptions, remove_state, running_sandbox, write_state

    data_dir = _data_dir()
    other = running_sandbox(data_dir)
    if other is not None:
        print(f"A sandbox is already running (pid {other.pid}):", file=sys.stderr)
        for key, url in other.urls.items():
            print(f"  {key}: {url}", file=sys.stderr)
        return 1
    options = SandboxOptions(port=args.port, api_version=args.api_version, latency_ms=args.latency_ms,
                             error_rate=args.error_rate, timeout_rate=args.timeout_rate,
                             drop_after_commit_rate=args.drop_after_commit_rate,
                             timeout_sleep_s=args.timeout_seconds, token_lifetime_s=args.token_lifetime_s)
    if args.seed is not None:
        options.seed = args.seed
    if options.error_rate + options.timeout_rate + options.drop_after_commit_rate > 1:
        print("sandbox: error, timeout and drop-after-commit rates add up to more than 1", file=sys.stderr)
        return 2
    if getattr(args, "verbose", False):
        import logging

        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        sandbox_log = logging.getLogger("console.sandbox")
        sandbox_log.addHandler(handler)
        sandbox_log.setLevel(logging.INFO)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    sandbox = Sandbox(options, data_dir=data_dir, strict=True)
    try:
        try:
            sandbox.start()
        except Exception as exc:  # noqa: BLE001 - e.g. a port already taken: say so, exit 1
            print(f"sandbox: cannot start: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
        endpoints = sandbox.as_endpoints(embedded=False)
        write_state(data_dir, endpoints)
        print("Biller Console sandbox (TRAINING - not production) running. Ctrl-C stops it.")
        print(f"State: {data_dir}")
        if sandbox.reseeded:
            print(f"Note: {sandbox.reseeded}")
        for part in sandbox.running:
            print(f"[{part.name}]")
            for key, value in {**part.urls, **part.info}.items():
                print(f"  {key}: {value}")
        for module, reason in sandbox.skipped.items():
            print(f"[skipped] {module}: {reason}")
        faults = [f"latency {options.latency_ms} ms" if options.latency_ms else "",
                  f"5xx {options.error_rate:g}" if options.error_rate else "",
                  f"timeouts {options.timeout_rate:g}" if options.timeout_rate else "",
                  f"commit-then-drop {options.drop_after_commit_rate:g}" if options.drop_after_commit_rate else ""]
        print("Faults: " + (", ".join(f for f in faults if f) or "none") + f" (seed {options.seed})")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
        print("Stopping sandbox...")
        return 0
    finally:
        sandbox.stop()
        remove_state(data_dir, os.getpid())
        for s, h in previous.items():
            signal.signal(s, h)
