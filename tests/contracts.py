"""The command-line contracts of the shared ``contract-check`` tool, ported into the repository.

Same checks, run on the samples copied into ``tests/data`` (see its README); each function
takes ``run(*args, stdin=None)`` (runs ``biller-console`` and returns the CompletedProcess) and
returns the list of failures (empty: the contract holds).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from subprocess import CompletedProcess

from tests.data_files import DATA, INVOICES_EXPECT, idtech_samples

Run = Callable[..., CompletedProcess]
SWIPE_FIELDS = ("format", "masked_pan", "last4", "name", "serial", "ksn", "expiry", "encryption", "checks")
TEST_PAN = "4111111111111111"
CLEAR_TRACKS = f"%B{TEST_PAN}^SMITH/JOHN^24121011000000000000?;{TEST_PAN}=24121011000000000000?"


def swipe_failures(run: Run) -> list[str]:
    """Plain ``swipe parse`` of every public sample gives its decoded fields; clear tracks and
    frames with characters lost are refused with exit 2, and no card number is echoed."""
    fails = []
    samples = idtech_samples()
    for s in samples:
        p = run("swipe", "parse", stdin=s["frame"] + "\r\n")
        try:
            got = json.loads(p.stdout)
        except ValueError:
            fails.append(f"{s['id']}: exit {p.returncode}, no JSON: {p.stderr.strip()[:100]}")
            continue
        fails += [f"{s['id']}: {k}={got.get(k)!r}, sample says {s[k]!r}" for k in SWIPE_FIELDS if got.get(k) != s[k]]
    v1 = samples[0]["frame"]
    for name, frame in (("clear tracks", CLEAR_TRACKS), ("first char lost", v1[1:]), ("last chars lost", v1[:-2])):
        p = run("swipe", "parse", stdin=frame)
        if p.returncode != 2:
            fails.append(f"{name}: exit {p.returncode}, want 2")
        if TEST_PAN in p.stdout + p.stderr:
            fails.append(f"{name}: card number echoed")
    return fails


def invoices_failures(run: Run) -> list[str]:
    """``invoices check --json`` of each sample: the expected exit code, record count and total
    for the valid file; an error on every broken line and none on a correct one for the other."""
    fails = []
    for name, e in json.loads(INVOICES_EXPECT.read_text(encoding="utf-8")).items():
        p = run("invoices", "check", str(DATA / name), "--json")
        try:
            got = json.loads(p.stdout)
        except ValueError:
            fails.append(f"{name}: exit {p.returncode}, no JSON")
            continue
        if p.returncode != e["exit"]:
            fails.append(f"{name}: exit {p.returncode}, want {e['exit']}")
        if "records" in e:
            if got.get("records") != e["records"] or str(got.get("total_amount_due")) != e["total"]:
                fails.append(f"{name}: records/total {got.get('records')}/{got.get('total_amount_due')}, "
                             f"want {e['records']}/{e['total']}")
            if got.get("errors"):
                fails.append(f"{name}: errors on a valid file: {got['errors'][:2]}")
            continue
        lines = {x.get("line") for x in got.get("errors", [])}
        fails += [f"{name}: no error on line {n} ({e['why'][str(n)]})" for n in e["error_lines"] if n not in lines]
        allowed = set(e["error_lines"]) | set(e["also_acceptable_error_lines"]) | {None}
        extra = sorted(n for n in lines if n not in allowed)
        if extra:
            fails.append(f"{name}: errors on correct lines {extra}")
    return fails
