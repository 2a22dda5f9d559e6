"""Posting-level file rules end to end: real files, the real reader, the CLI, the sandbox over HTTP."""

from __future__ import annotations

import contextlib
import csv
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from console.adapters.invoicecloud import InvoiceCloudClient
from console.adapters.journal import DuplicateFileError, SqliteJournal
from console.cli import main
from console.config import sandbox_profile
from console.errors import AuthError, ValidationError
from console.files.reader import read_file
from console.paths import Paths
from console.sandbox import exports
from console.sandbox.caselle_server import DB_NAME, report
from console.sandbox.invoicecloud_server import DEMO_WEB_SERVICE_KEY, InvoiceCloudServer
from console.sandbox.runner import Sandbox, SandboxOptions, remove_state, write_state
from console.services.posting import PostingService
from tests.profiles import POSTER

pytestmark = pytest.mark.usefixtures("cli_as_clerk")  # commands that act name who acts

PARTS = ["console.sandbox.caselle_server", "console.sandbox.invoicecloud_server"]


@pytest.fixture
def sandbox(monkeypatch, request):
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "clerk1")
    version = getattr(request, "param", "2021.05")
    paths = Paths.default().ensure()
    sb = Sandbox(SandboxOptions(api_version=version), data_dir=paths.sandbox_dir, parts=PARTS).start()
    write_state(paths.sandbox_dir, sb.as_endpoints(embedded=False))
    yield paths, sb
    remove_state(paths.sandbox_dir)
    sb.stop()


def _post(capsys, *args) -> tuple[int, dict]:
    code = main(["post", *map(str, args), "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)


def _journal_count(paths) -> int:
    if not paths.journal_file.exists():
        return 0
    with SqliteJournal(paths.journal_file) as j:
        return sum(j.counts().values())


def test_invalid_file_posts_nothing_and_names_line_column_rule(sandbox, tmp_path, capsys):
    paths, _ = sandbox
    f = tmp_path / "p.csv"
    exports.write_export("payments", f, 20, 3, receipts_only=True)
    lines = f.read_bytes().decode().split("\r\n")
    cells = lines[5].split(",")
    cells[8] = "12.345"  # Amount with three decimals
    lines[5] = ",".join(cells)
    f.write_bytes("\r\n".join(lines).encode())
    code, data = _post(capsys, f, "--kind", "payments")
    assert code == 1 and data["status"] == "invalid"
    assert any(e["line"] == 6 and e["column"] == "Amount" for e in data["errors"]), data["errors"]
    assert all(e["rule"] for e in data["errors"])
    assert _journal_count(paths) == 0
    assert report(paths.sandbox_dir / DB_NAME)["receipts"] == 0


def test_trailer_mismatch_rejects_whole_file(sandbox, tmp_path, capsys):
    paths, _ = sandbox
    f = tmp_path / "p.csv"
    exports.write_export("payments", f, 10, 3, receipts_only=True)
    text = f.read_bytes().decode()
    head, trailer = text.rstrip("\r\n").rsplit("\r\n", 1)
    marker, n, total = trailer.split(",")
    f.write_bytes(f"{head}\r\n{marker},{n},{Decimal(total) + 1}\r\n".encode())
    code, data = _post(capsys, f, "--kind", "payments")
    assert code == 1 and _journal_count(paths) == 0
    assert any("TRAILER" in (e["message"] + e["rule"]).upper() or "trailer" in e["rule"] for e in data["errors"])


def test_dry_run_second_import_and_supervisor_override(sandbox, tmp_path, capsys, monkeypatch):
    paths, _ = sandbox
    f = tmp_path / "p.csv"
    summary = exports.write_export("payments", f, 60, 4)
    code, data = _post(capsys, f, "--kind", "payments", "--dry-run")
    assert code == 0 and data["status"] == "dry_run" and _journal_count(paths) == 0
    assert data["planned"]["post receipt"] == summary["receipts"]
    code, data = _post(capsys, f, "--kind", "payments")
    assert code == 0 and data["import"]["status"] == "imported"
    assert data["outcomes"]["posted"] == summary["receipts"]
    assert data["outcomes"].get("void_not_posted", 0) == summary["voided"]
    # the same file again: refused as an import, nothing posted twice
    with SqliteJournal(paths.journal_file) as j:
        svc = PostingService(j, object(), sandbox_profile())
        with pytest.raises(DuplicateFileError, match="already imported"):
            svc.import_file(f, "payments", "clerk1")
    code, data = _post(capsys, f, "--kind", "payments")
    assert code == 0 and data["import"]["status"] == "already_imported" and data["run"] == {}
    # override needs a supervisor and their PIN
    code, data = _post(capsys, f, "--kind", "payments", "--override", "--supervisor", "clerk1")
    assert code == 1 and "supervisor" in data["message"].lower()
    monkeypatch.setenv("BILLER_CONSOLE_SUPERVISOR_PIN", "9999")
    code, data = _post(capsys, f, "--kind", "payments", "--override", "--supervisor", "super1")
    assert code == 0 and data["import"]["status"] == "override" and data["import"]["added"] == 0
    rep = report(paths.sandbox_dir / DB_NAME)
    assert rep["receipts"] == summary["receipts"] and Decimal(rep["total"]) == Decimal(summary["receipts_total"])


def test_rejects_and_changes_through_the_cli(sandbox, tmp_path, capsys):
    paths, _ = sandbox
    pay, rej, chg = tmp_path / "p.csv", tmp_path / "r.csv", tmp_path / "c.csv"
    exports.write_export("payments", pay, 300, 9)
    r_sum = exports.write_export("rejects", rej, 300, 9)
    exports.write_export("changes", chg, 60, 9)
    assert _post(capsys, pay, "--kind", "payments")[0] == 0
    code, data = _post(capsys, rej, "--kind", "rejects")
    assert code == 0 and data["outcomes"] == {"reversed": r_sum["rows"]}
    rep = report(paths.sandbox_dir / DB_NAME)
    assert rep["reversed"] == r_sum["rows"] and rep["adjustments_created"] == r_sum["rows"]  # NSF fee each
    code, data = _post(capsys, chg, "--kind", "changes")
    assert code == 0
    outcomes = data["outcomes"]
    assert outcomes.get("changed", 0) > 0 and outcomes.get("no_op", 0) > 0 and outcomes.get("superseded", 0) > 0
    assert sum(outcomes.values()) == 60


@pytest.mark.parametrize("sandbox", ["2021.02.160"], indirect=True)
def test_rejects_disabled_on_old_api_version(sandbox, tmp_path, capsys, monkeypatch):
    rej = tmp_path / "r.csv"
    exports.write_export("rejects", rej, 300, 9)
    # the sandbox profile says 2021.05; the server says 2021.02.160: execution is refused per entry
    code, data = _post(capsys, rej, "--kind", "rejects")
    assert code == 2
    assert {o["outcome"] for o in data["open"]} == {"unsupported_version"}
    assert all("2021.05" in o["detail"] for o in data["open"])


def test_invoicecloud_stand_in_key_formats_and_fetch_to_post(sandbox):
    paths, sb = sandbox
    url = sb.endpoints()["urls"]["ic_api_url"]
    assert requests.get(f"{url}/api/v1/payments", timeout=5).status_code == 401
    with pytest.raises(AuthError):
        InvoiceCloudClient(url, "wrong", timeout=5).fetch_csv("payments", count=3)
    client = InvoiceCloudClient(url, DEMO_WEB_SERVICE_KEY, timeout=5)
    j1 = client.fetch_json("payments", count=5, seed=2)
    j2 = client.fetch_json("payments", count=5, seed=2)
    assert j1 == j2 and j1["count"] == 5 and j1["records"][0]["PaymentId"] == exports.payment_id(2, 0)
    csv_bytes = client.fetch_csv("payments", count=5, seed=2).data
    assert csv_bytes.decode().startswith("PaymentId,ConfirmationNumber")
    from console.adapters.caselle import CaselleClient, request_token

    ep = sb.endpoints()
    token = request_token(ep["urls"]["caselle_token_url"], ep["info"]["caselle_client_id"],
                          ep["info"]["caselle_client_secret"])
    with SqliteJournal(paths.journal_file) as j, CaselleClient(ep["urls"]["caselle_url"], token) as caselle:
        svc = PostingService(j, caselle, sandbox_profile(), inbox_dir=paths.data_dir / "inbox")
        plan = svc.fetch_and_preview("payments", client, count=40, seed=5, receipts_only=1)
        assert plan.records == 40 and Path(paths.data_dir / "inbox").glob("ic-payments-*.csv")
        svc.import_plan(plan, "clerk1")
        assert svc.post_pending(operator=POSTER).outcomes["posted"] == 40
        again = svc.fetch_and_preview("payments", client, count=40, seed=5, receipts_only=1)
        assert again.already_imported is not None  # the same data fetched twice is the same file
    client.close()


def test_route_table_is_pluggable():
    from console.sandbox.invoicecloud_server import ROUTES, Response, route

    before = len(ROUTES)

    @route("POST", r"/api/v1/echo/(?P<word>\w+)")
    def echo(req):
        return Response.json({"word": req.match["word"], "body": req.json()})

    try:
        with InvoiceCloudServer() as server:
            r = requests.post(f"{server.url}/api/v1/echo/hi", json={"a": 1},
                              headers={"X-IC-WebServiceKey": DEMO_WEB_SERVICE_KEY}, timeout=5)
            assert r.json() == {"word": "hi", "body": {"a": 1}}
            assert requests.get(f"{server.url}/api/v1/echo/hi", timeout=5,
                                headers={"X-IC-WebServiceKey": DEMO_WEB_SERVICE_KEY}).status_code == 405
            assert requests.get(f"{server.url}/nothing", timeout=5).status_code == 404
            assert requests.get(f"{server.url}/health", timeout=5).json()["ok"] is True
    finally:
        ROUTES[:] = ROUTES[:before]


# ---- hypothesis: valid files round-trip; corruption is reported, never a crash ------------------
def _records(path: Path) -> list[dict]:
    return [dict(r.values) for r in read_file(path, "ic-payments-v1").records]


def _content(data: bytes) -> list[list[str]] | None:
    """What a payments file says, independent of the reader: its CSV rows without the ones that
    carry nothing (blank lines; the format ignores them and takes LF or CRLF), amounts as numbers
    ("0.0" says what "0.00" says). None when it is not even CSV."""
    try:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8", "replace"), newline="")))
    except csv.Error:
        return None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return []
    money = [i for i, name in enumerate(rows[0]) if name in ("Amount", "ConvenienceFee")]
    out = [rows[0]]
    for row in rows[1:]:
        cells = list(row)
        for i in ([2] if cells[0] == "TRAILER" else money):
            with contextlib.suppress(IndexError, ArithmeticError):
                cells[i] = str(Decimal(cells[i]).normalize())
        out.append(cells)
    return out


def _import_journals_nothing(svc: PostingService, j: SqliteJournal, f: Path) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        svc.import_file(f, "payments", "clerk1")
    assert sum(j.counts().values()) == 0 and j.files() == []
    return caught.value


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 40), seed=st.integers(0, 10_000), cut=st.integers(0, 10_000), drop=st.integers(0, 3),
       junk=st.sampled_from(["", ",", "\"", "x", "-1", "9", "12.345", "\x00", "é", "\r\n", "TRAILER,1,0\r\n"]))
def test_generated_files_round_trip_and_corruption_is_always_reported(tmp_path_factory, count, seed, cut, drop,
                                                                      junk):
    """A generated payments file reads back exactly; corrupted (junk inserted and/or bytes cut out at
    any place) it is either refused with problems naming a rule — and importing it journals
    nothing — or, when the layout still accepts it, the change is warned about (an unknown header
    column) or really shows in what was read (the records differ), or it said nothing new (only
    blank lines, line ends or an amount's notation changed) — and never in the money: the
    trailer's count and control total still hold."""
    d = tmp_path_factory.mktemp("h")
    f = d / "p.csv"
    exports.write_export("payments", f, count, seed)
    original = _records(f)
    total = sum((r["Amount"] for r in exports.payments(count, seed)), Decimal("0.00"))
    with SqliteJournal(d / "j.sqlite3") as j:
        svc = PostingService(j, object(), sandbox_profile())
        plan = svc.preview_file(f, "payments")
        assert plan.records == count == len(plan.entries) == len(original)
        assert plan.control_total == total
        data = f.read_bytes()
        pos = cut % (len(data) + 1)
        bad = data[:pos] + junk.encode() + data[pos + drop:]
        assume(bad != data)
        f.write_bytes(bad)
        try:
            accepted = svc.preview_file(f, "payments")
        except ValidationError as exc:
            assert exc.problems and all(p.rule for p in exc.problems), exc
            refused = _import_journals_nothing(svc, j, f)
            assert [p.rule for p in refused.problems] == [p.rule for p in exc.problems]
            return
        # accepted by the layout: the change is warned about or shows in what was read …
        now = _records(f)
        assert now != original or accepted.warnings or _content(bad) == _content(data), (pos, drop, junk)
        # … and cannot have moved money: same number of payments, same Amount total
        assert len(now) == count and sum((r["Amount"] for r in now), Decimal("0.00")) == total
        assert sum(j.counts().values()) == 0  # preview never journals


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(1, 30), seed=st.integers(0, 10_000), data=st.data())
def test_a_changed_payment_amount_is_always_caught(tmp_path_factory, count, seed, data):
    """Any digit of any payment's Amount changed: the trailer's control total refuses the file, and
    importing it journals nothing."""
    d = tmp_path_factory.mktemp("amt")
    f = d / "p.csv"
    exports.write_export("payments", f, count, seed)
    lines = f.read_bytes().decode("utf-8").split("\r\n")
    header = next(csv.reader([lines[0]]))
    pos = header.index("Amount")
    i = data.draw(st.integers(1, count), label="record line")
    cells = next(csv.reader([lines[i]]))
    old = cells[pos]
    k = data.draw(st.sampled_from([n for n, ch in enumerate(old) if ch.isdigit()]), label="digit")
    digit = data.draw(st.sampled_from([c for c in "0123456789" if c != old[k]]), label="new digit")
    cells[pos] = old[:k] + digit + old[k + 1:]
    assert Decimal(cells[pos]) != Decimal(old)
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    lines[i] = out.getvalue()
    f.write_bytes("\r\n".join(lines).encode("utf-8"))
    with SqliteJournal(d / "j.sqlite3") as j:
        svc = PostingService(j, object(), sandbox_profile())
        refused = _import_journals_nothing(svc, j, f)
        assert "trailer_total" in {p.rule for p in refused.problems}, refused.problems


def test_sandbox_export_flags_and_report(sandbox, tmp_path, capsys):
    paths, _ = sandbox
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert main(["sandbox", "--export-payments", str(a), "--count", "25", "--seed", "4"]) == 0
    assert main(["sandbox", "--export-payments", str(b), "--count", "25", "--seed", "4"]) == 0
    capsys.readouterr()
    assert a.read_bytes() == b.read_bytes()  # deterministic
    from console.files.reader import read_file

    result = read_file(a, "ic-payments-v1")
    assert result.ok and len(result) == 25 and result.trailer[0] == 25
    expected = [r for r in result.records if r["Status"] == "APPROVED" and r["InvoiceType"] == 42]
    assert _post(capsys, a, "--kind", "payments")[0] == 0
    assert main(["sandbox", "--report", "--json"]) == 0
    rep = json.loads(capsys.readouterr().out)
    assert rep["receipts"] == len(expected) and rep["voided"] == 0
    assert Decimal(rep["total"]) == sum((r["Amount"] for r in expected), Decimal("0.00"))
    assert rep["references_posted_more_than_once"] == []
    for kind in ("rejects", "changes"):
        out = tmp_path / f"{kind}.csv"
        assert main(["sandbox", f"--export-{kind}", str(out), "--count", "25", "--seed", "4"]) == 0
        assert read_file(out, exports.LAYOUTS[kind]).ok


def test_post_fetch_from_invoice_cloud(sandbox, capsys):
    paths, _ = sandbox
    code, data = _post(capsys, "--kind", "payments", "--fetch")
    assert code == 0 and data["records"] == 200 and data["import"]["status"] == "imported"
    assert data["file"].startswith("ic-payments-")
    code, data = _post(capsys, "--kind", "payments", "--fetch")
    assert code == 0 and data["import"]["status"] == "already_imported"  # the same data is the same file
    code, data = _post(capsys, "--kind", "payments")
    assert code == 1 and data["errors"][0]["rule"] == "source"


def test_end_of_day_report_against_caselle_batches(sandbox, tmp_path, capsys):
    from console.adapters.caselle import CaselleClient, request_token
    from console.services import reconciliation

    paths, sb = sandbox
    f = tmp_path / "p.csv"
    summary = exports.write_export("payments", f, 80, 6)
    assert _post(capsys, f, "--kind", "payments")[0] == 0
    ep = sb.endpoints()
    token = request_token(ep["urls"]["caselle_token_url"], ep["info"]["caselle_client_id"],
                          ep["info"]["caselle_client_secret"])
    with SqliteJournal(paths.journal_file) as j, CaselleClient(ep["urls"]["caselle_url"], token) as caselle:
        rep = reconciliation.add_caselle_batches(reconciliation.build_report(j), caselle)
    assert rep.total.amounts["posted"] == Decimal(summary["receipts_total"])
    assert rep.caselle_batches and all(rep.batch_difference(b) == 0 for b in rep.caselle_batches)
    assert sum(cb.total for cb in rep.caselle_batches.values()) == Decimal(summary["receipts_total"])
