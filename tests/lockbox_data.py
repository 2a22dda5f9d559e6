"""Generated ic-payments-v1 files for the lockbox tests (never the public samples)."""

from __future__ import annotations

import csv
import io
import random
from decimal import Decimal
from pathlib import Path

HEADER = ["PaymentId", "ConfirmationNumber", "AccountNumber", "InvoiceNumber", "InvoiceType", "PayerName", "Tender",
          "CardLast4", "Amount", "ConvenienceFee", "PaymentDate", "SettlementDate", "Status"]
NAMES = ["NGUYỄN VAN AN", "BJÖRK ÅSA", "O'NEIL SEAN", "ŻÓŁĆ JERZY", "SMITH JOHN", "DUBOIS RENÉE"]
GL = {"301": "10-4100-000", "302": "10-4200-000", "303": "20-4300-010"}


def payment_rows(n: int, *, start: int = 1, seed: int = 7, types=("301", "302", "303"), day: int = 20,
                 status: str = "APPROVED") -> list[dict]:
    rnd = random.Random(seed + start)
    rows = []
    for i in range(start, start + n):
        card = rnd.random() < 0.5
        rows.append({
            "PaymentId": f"PAY{i:08d}", "ConfirmationNumber": f"K{i:010d}", "AccountNumber": f"MISC-{i % 9000:04d}",
            "InvoiceNumber": f"INV{i:07d}", "InvoiceType": rnd.choice(types), "PayerName": rnd.choice(NAMES),
            "Tender": "CARD" if card else "ACH", "CardLast4": f"{rnd.randint(0, 9999):04d}" if card else "",
            "Amount": f"{Decimal(rnd.randint(1, 500_000)) / 100:.2f}", "ConvenienceFee": "2.95" if card else "0.00",
            "PaymentDate": f"11/{day:02d}/2026 09:{i % 60:02d}:00", "SettlementDate": f"11/{day + 1:02d}/2026",
            "Status": status,
        })
    return rows


def write_payments(path: Path, rows: list[dict], *, trailer: bool = True) -> Path:
    buf = io.StringIO(newline="")
    w = csv.DictWriter(buf, HEADER, lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    if trailer:
        total = sum((Decimal(r["Amount"]) for r in rows), Decimal("0.00"))
        buf.write(f"TRAILER,{len(rows)},{total}\r\n")
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")
    return path


def write_gl_map(path: Path, mapping: dict[str, str] = GL) -> Path:
    path.write_text("ItemCode,GLAccount\n" + "".join(f"{k},{v}\n" for k, v in mapping.items()), encoding="utf-8")
    return path
