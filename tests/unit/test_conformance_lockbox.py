"""``lockbox build`` checked record by record against file-layouts.md §5 (lockbox-bai80).

The checker below reads the positions straight from the description (1-based, inclusive),
not from the layout file the builder uses, on payments files no sample covers: 1,000 items
(a second batch after 999), LF endings with a BOM, quoted names with commas, amounts without
two decimals, the widest account and confirmation numbers.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import unicodedata
from decimal import Decimal

import pytest

from console.cli import main

pytestmark = pytest.mark.usefixtures("cli_as_clerk")  # commands that act name who acts

HEADER = ("PaymentId,ConfirmationNumber,AccountNumber,InvoiceNumber,InvoiceType,PayerName,Tender,"
          "CardLast4,Amount,ConvenienceFee,PaymentDate,SettlementDate,Status").split(",")
GL = {"101": "10-3210-000", "102": "10-3220-100", "103": "20-3450-000"}


def _payments(n: int, seed: int, **fixed) -> list[dict[str, str]]:
    rnd = random.Random(seed)
    rows = []
    for i in range(n):
        row = {"PaymentId": f"Q{seed:02d}{i:06d}", "ConfirmationNumber": f"K{seed:02d}{i:08d}",
               "AccountNumber": f"AR-{rnd.randint(1, 99999)}", "InvoiceNumber": f"CS{i:07d}",
               "InvoiceType": rnd.choice(sorted(GL)), "PayerName": rnd.choice(["SMITH JOHN", "DUBOIS RENÉE"]),
               "Tender": "ACH", "CardLast4": "", "Amount": f"{Decimal(rnd.randint(1, 250000)).scaleb(-2)}",
               "ConvenienceFee": "0.00", "PaymentDate": "11/20/2026 10:00:00", "SettlementDate": "11/21/2026",
               "Status": "APPROVED"}
        row.update({k: v(i) if callable(v) else v for k, v in fixed.items()})
        rows.append(row)
    return rows


def _write(path, rows, *, newline="\r\n", bom=False, trailer=True):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=newline)
    w.writerow(HEADER)
    w.writerows([[r[h] for h in HEADER] for r in rows])
    if trailer:
        w.writerow(["TRAILER", len(rows), str(sum(Decimal(r["Amount"]) for r in rows))])
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode("utf-8"))


def _build(tmp_path, capsys, rows, **kw):
    pay, out, glf = tmp_path / "payments.csv", tmp_path / "lockbox.txt", tmp_path / "gl.csv"
    _write(pay, rows, **kw)
    glf.write_text("ItemCode,GLAccount\n" + "".join(f"{k},{v}\n" for k, v in GL.items()))
    code = main(["lockbox", "build", "--payments", str(pay), "--out", str(out), "--gl-map", str(glf), "--json"])
    return code, json.loads(capsys.readouterr().out), out


def _num(text: str) -> int:
    assert re.fullmatch(r"\d+", text), f"{text!r} is not zero-padded digits"
    return int(text)


def _check_file(data: bytes, rows: list[dict[str, str]]) -> int:
    """Every rule of §5; returns the number of batches."""
    assert data.endswith(b"\r\n")
    lines = data.decode("ascii").split("\r\n")[:-1]
    assert all(len(x) == 80 and all(" " <= c <= "~" for c in x) for x in lines)
    assert re.fullmatch(r"1(5(64)+7)+9", "".join(x[0] for x in lines))
    head = lines[0]  # 1 `1`; 2-3 `01`; 4-13 destination; 14-23 origin; 24-29 YYMMDD; 30-33 HHMM
    assert head[1:3] == "01" and head[13:23] == "INVCLOUD  "
    assert re.fullmatch(r"\d{6}\d{4}", head[23:33]) and not head[33:].strip()
    by_conf = {r["ConfirmationNumber"]: r for r in rows}
    batches = items = file_total = 0
    for i, rec in enumerate(lines):
        kind = rec[0]
        if kind == "5":  # 2-4 batch; 5-11 lockbox; 12-17 deposit date
            batches += 1
            assert _num(rec[1:4]) == batches
            _num(rec[4:11])
            assert rec[11:17] == "261121" and not rec[17:].strip()
            count = total = 0
        elif kind == "6":  # 2-4 batch; 5-7 item; 8-17 amount; 18-37 ref; 38-57 GL; 58-65 code; 66-80 conf
            count += 1
            assert (_num(rec[1:4]), _num(rec[4:7])) == (batches, count)
            src = by_conf.pop(rec[65:80].rstrip())
            cents = _num(rec[7:17])
            assert cents == int(Decimal(src["Amount"]) * 100)
            assert rec[17:37] == src["AccountNumber"].ljust(20)
            assert rec[37:57] == GL[src["InvoiceType"]].ljust(20)
            assert rec[57:65] == src["InvoiceType"].ljust(8)
            total += cents
            over = lines[i + 1]  # 1 `4`; 2-4 batch; 5-7 item; 8-37 payer; 38-80 memo / invoice
            assert over[0] == "4" and over[1:7] == rec[1:7]
            payer = unicodedata.normalize("NFKD", src["PayerName"]).encode("ascii", "ignore").decode()
            assert over[7:37] == payer[:30].ljust(30)
            assert over[37:80] == src["InvoiceNumber"][:43].ljust(43)
        elif kind == "7":  # 2-4 batch; 5-7 item count; 8-19 batch total
            assert (_num(rec[1:4]), _num(rec[4:7]), _num(rec[7:19])) == (batches, count, total)
            assert count <= 999 and not rec[19:].strip()
            items += count
            file_total += total
        elif kind == "9":  # 2-4 batch count; 5-10 record count (all records); 11-24 file total
            assert (_num(rec[1:4]), _num(rec[4:10]), _num(rec[10:24])) == (batches, len(lines), file_total)
            assert not rec[24:].strip()
    assert not by_conf and items == len(rows)
    return batches


def test_a_thousand_payments_make_two_batches_and_every_record_follows_the_layout(tmp_path, capsys):
    rows = _payments(1000, 1)
    code, got, out = _build(tmp_path, capsys, rows)
    assert code == 0, got
    assert _check_file(out.read_bytes(), rows) == 2


@pytest.mark.parametrize(("fixed", "kw"), [
    ({}, {"newline": "\n", "bom": True, "trailer": False}),
    ({"PayerName": 'SMITH, JOHN "JJ"'}, {}),
    ({"Amount": lambda i: ["5", "5.5", ".50", "0.01", "99999999.99", "1000"][i % 6]}, {}),
    ({"AccountNumber": "ABCDEFGHIJ-123456789", "ConfirmationNumber": lambda i: f"C{i:014d}"}, {}),
    ({"InvoiceNumber": lambda i: f"{i:03d}" + "X" * 40}, {}),
])
def test_other_payments_files(tmp_path, capsys, fixed, kw):
    rows = _payments(12, 2, **fixed)
    code, got, out = _build(tmp_path, capsys, rows, **kw)
    assert code == 0, got
    assert _check_file(out.read_bytes(), rows) == 1


@pytest.mark.parametrize("amount", ["1,000.00", "$5.00", "5.001", "-5.00", "1e3"])
def test_a_bad_amount_is_one_error_on_its_line_and_nothing_is_written(tmp_path, capsys, amount):
    rows = _payments(3, 3, Amount=lambda i: amount if i == 1 else "10.00")
    code, got, out = _build(tmp_path, capsys, rows, trailer=False)
    assert code == 1 and not out.exists()
    # the file reader's error only: not a second one claiming the amount is 0.00
    assert [(e["line"], e["column"]) for e in got["errors"]] == [(3, "Amount")]
