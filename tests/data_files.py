"""The one place that names the test data files copied into ``tests/data`` (see its README)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
IDTECH_SAMPLES = DATA / "idtech-samples.json"
INVOICES_VALID = DATA / "invoices-valid-cp1252.txt"
INVOICES_INVALID = DATA / "invoices-invalid.txt"
INVOICES_EXPECT = DATA / "invoices-expect.json"
BILLS_SAMPLE_PDF = DATA / "bills-sample.pdf"


@cache
def _idtech_text() -> str:
    return IDTECH_SAMPLES.read_text(encoding="utf-8")


def idtech_samples() -> list[dict]:
    """The public IDTech SRED sample frames with their decoded fields (a fresh list each call)."""
    return json.loads(_idtech_text())
