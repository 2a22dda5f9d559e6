"""Any bytes in, a clear message and a documented exit code out: every command that reads a
file (or an amount) is run in-process on generated input; an exception escaping ``main`` (a
traceback for the operator) fails the test.

Inputs are random bytes, and valid files (generated here, never the public samples) with one
cell replaced by hostile text: huge amounts, long fields, stray quotes, control characters.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from console.cli import main
from console.sandbox.exports import write_export
from console.sandbox.invoice_export import write_invoice_export
from tests.lockbox_data import payment_rows, write_gl_map, write_payments

SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
HUGE = "1" * 29 + ".00"

# command (FILE is replaced by the generated file) -> its documented exit codes (the README's table)
COMMANDS = {
    "post-payments": (["post", "FILE", "--kind", "payments", "--dry-run"], {0, 1, 2, 66}),
    "post-rejects": (["post", "FILE", "--kind", "rejects", "--dry-run"], {0, 1, 2, 66}),
    "post-changes": (["post", "FILE", "--kind", "changes", "--dry-run"], {0, 1, 2, 66}),
    "invoices-check": (["invoices", "check", "FILE"], {0, 1, 66}),
    "invoices-send": (["invoices", "send", "FILE"], {0, 1, 3, 4, 66}),
    "lockbox-build": (["lockbox", "build", "--payments", "FILE", "--gl-map", "GLMAP", "--out", "OUT"], {0, 1, 66}),
    "lockbox-glmap": (["lockbox", "build", "--payments", "PAYMENTS", "--gl-map", "FILE", "--out", "OUT"], {0, 1, 66}),
    "lockbox-check": (["lockbox", "check", "FILE"], {0, 1, 66}),
    "lockbox-summary": (["lockbox", "summary", "FILE"], {0, 1, 66}),
    "lockbox-send": (["lockbox", "send", "FILE"], {0, 1, 66}),
    "lockbox-handed-over": (["lockbox", "handed-over", "FILE"], {0, 1, 66}),
    "bills-index": (["bills", "index", "FILE", "--workers", "1"], {0, 1, 2, 66}),
    "bills-split": (["bills", "split", "BATCH", "--invoices", "FILE", "--out", "OUT"], {0, 1, 2, 66}),
    "bills-template": (["bills", "template-check", "FILE"], {0, 1, 66}),
}


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> dict[str, bytes]:
    """One small valid file per kind, as bytes."""
    folder = tmp_path_factory.mktemp("valid")
    files = {"payments": write_export("payments", folder / "p.csv", 4)["file"],
             "rejects": write_export("rejects", folder / "r.csv", 3)["file"],
             "changes": write_export("changes", folder / "c.csv", 3)["file"],
             "lockbox-payments": write_payments(folder / "lp.csv", payment_rows(3)),
             "glmap": write_gl_map(folder / "gl.csv")}
    write_invoice_export(folder / "i.txt", 4)
    files["invoices"] = folder / "i.txt"
    return {k: Path(v).read_bytes() for k, v in files.items()}


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("batch") / "batch.pdf"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["bills", "sandbox-batch", "--out", str(out), "--count", "3"]) == 0
    return out


def _with_cell(data: bytes, row: int, col: int, text: str) -> bytes:
    lines = data.decode("utf-8").split("\n")
    cells = lines[row % (len(lines) - 1)].split(",")
    cells[col % len(cells)] = text
    lines[row % (len(lines) - 1)] = ",".join(cells)
    return "\n".join(lines).encode("utf-8", "surrogatepass")


HOSTILE = st.one_of(
    st.just(HUGE), st.just("9" * 5000), st.just("-" + "9" * 40 + ".99"), st.just("x" * 200_000),
    st.just('"' + "y" * 140_000), st.from_regex(r"-?[0-9]{10,40}(\.[0-9]{0,3})?", fullmatch=True),
    st.text(max_size=60),
)


def run(argv: list[str], allowed: set[int]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)  # an exception here is the traceback an operator would see
    text = out.getvalue() + err.getvalue()
    assert code in allowed, (argv, code, text[-2000:])
    assert "Traceback" not in text
    if code:
        assert text.strip(), f"{argv}: exit {code} without a word"
    return code, text


def _argv(name: str, file: Path, tmp: Path, valid: dict[str, bytes], batch: Path | None) -> list[str]:
    argv, _ = COMMANDS[name]
    (tmp / "glmap.csv").write_bytes(valid["glmap"])
    (tmp / "payments.csv").write_bytes(valid["lockbox-payments"])
    names = {"FILE": str(file), "GLMAP": str(tmp / "glmap.csv"), "PAYMENTS": str(tmp / "payments.csv"),
             "OUT": str(tmp / "out"), "BATCH": str(batch)}
    return [names.get(a, a) for a in argv]


BASE = {"post-payments": "payments", "post-rejects": "rejects", "post-changes": "changes",
        "invoices-check": "invoices", "lockbox-build": "lockbox-payments", "lockbox-glmap": "glmap",
        "bills-split": "invoices"}


@pytest.mark.parametrize("name", sorted(COMMANDS))
@SETTINGS
@given(data=st.binary(max_size=400))
def test_random_bytes_give_a_message_and_a_documented_exit(name, data, tmp_path, valid, batch):
    file = tmp_path / "input.bin"
    file.write_bytes(data)
    run(_argv(name, file, tmp_path, valid, batch if name == "bills-split" else None), COMMANDS[name][1])


@pytest.mark.parametrize("name", sorted(BASE))
@SETTINGS
@given(row=st.integers(1, 3), col=st.integers(0, 25), text=HOSTILE)
@example(row=1, col=8, text=HUGE)  # Amount of a payment, a CloudStore payment
@example(row=1, col=16, text=HUGE)  # TotalAmountDue of an invoice
@example(row=1, col=1, text="x" * 200_000)  # a field past the csv module's 128 KiB limit
def test_one_hostile_cell_in_a_valid_file(name, row, col, text, tmp_path, valid, batch):
    file = tmp_path / "input.csv"
    file.write_bytes(_with_cell(valid[BASE[name]], row, col, text))
    run(_argv(name, file, tmp_path, valid, batch if name == "bills-split" else None), COMMANDS[name][1])


@SETTINGS
@given(amount=HOSTILE)
@example(amount=HUGE)
def test_an_adjustment_amount_on_the_command_line(amount):
    """``sandbox --adjust ACCOUNT AMOUNT REASON``: a bad amount is refused before the sandbox is touched."""
    from console.domain.money import AmountError, parse_amount

    try:
        parse_amount(amount)
    except AmountError:
        code, text = run(["sandbox", "--adjust", "100102-01", amount, "fuzz"], {1})
        assert "sandbox --adjust" in text


@SETTINGS
@given(data=st.binary(max_size=600))
def test_a_swipe_frame_of_any_bytes(data, monkeypatch):
    """``swipe parse`` reads its frame from stdin: 0 parsed, 1 settings unusable, 2 rejected."""
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace"))
    run(["swipe", "parse"], {0, 1, 2})


@pytest.mark.parametrize("kind, column", [("payments", 8), ("payments", 9), ("invoices", 16), ("invoices", 14)])
def test_a_29_digit_amount_is_a_validation_problem_naming_line_and_column(kind, column, tmp_path, valid):
    file = tmp_path / "big.csv"
    file.write_bytes(_with_cell(valid[kind], 1, column, HUGE))
    argv = ["post", str(file), "--kind", "payments", "--dry-run"] if kind == "payments" else \
        ["invoices", "check", str(file)]
    code, text = run(argv, {1})
    assert "line 2" in text and "more than 12 digits before the decimal point" in text


@pytest.mark.usefixtures("cli_as_clerk")  # the file is read once who acts is known
def test_a_29_digit_trailer_total_is_reported(tmp_path, valid):
    lines = valid["invoices"].decode().rstrip("\r\n").split("\n")
    lines[-1] = f"TRAILER,4,{HUGE}"
    file = tmp_path / "trailer.txt"
    file.write_text("\n".join(lines) + "\n")
    for argv, allowed in ((["invoices", "check", str(file)], {1}), (["invoices", "send", str(file)], {1})):
        code, text = run(argv, allowed)
        assert "control total" in text and "more than 12 digits" in text


@pytest.mark.usefixtures("cli_as_clerk")  # the file is read once who acts is known
def test_a_gl_map_field_over_128_kib_names_its_line(tmp_path, valid):
    file = tmp_path / "gl.csv"
    file.write_text('ItemCode,GLAccount\n301,10-4100-000\n302,"' + "x" * 200_000 + '"\n')
    (tmp_path / "p.csv").write_bytes(valid["lockbox-payments"])
    code, text = run(["lockbox", "build", "--payments", str(tmp_path / "p.csv"), "--gl-map", str(file),
                      "--out", str(tmp_path / "out")], {1})
    assert "line 3" in text and "field larger than" in text
