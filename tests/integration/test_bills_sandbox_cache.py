"""The sandbox's cached bill batch and invoice file follow the sandbox's day: one file per day,
written once and reused that day; another day writes its own (real files)."""

from __future__ import annotations

import datetime as dt

from console.bills import service
from console.paths import Paths
from console.sandbox import seed as demo
from console.sandbox.invoice_export import invoice_export_text

DAY_1 = dt.date(2026, 11, 26)
DAY_2 = dt.date(2026, 12, 3)
COUNT = 4


def text(path) -> str:
    return path.read_bytes().decode("utf-8")


def test_invoice_file_is_written_once_a_day(monkeypatch):
    paths = Paths.default()
    monkeypatch.setattr(demo, "demo_today", lambda: DAY_1)
    first = service.sandbox_invoice_file(paths, count=COUNT)
    assert text(first) == invoice_export_text(COUNT, as_of=DAY_1)
    first.write_text("kept", encoding="utf-8")  # the same day: reused, not written again
    assert service.sandbox_invoice_file(paths, count=COUNT) == first
    assert first.read_text(encoding="utf-8") == "kept"

    monkeypatch.setattr(demo, "demo_today", lambda: DAY_2)
    second = service.sandbox_invoice_file(paths, count=COUNT)
    assert second != first
    assert text(second) == invoice_export_text(COUNT, as_of=DAY_2)
    assert second.name == first.name  # the same name, in the day's folder
    assert not first.exists()  # the other day's file no longer matches the sandbox: removed
    assert text(service.sandbox_invoice_file(paths, count=COUNT, as_of=DAY_1)) == invoice_export_text(COUNT, as_of=DAY_1)


def test_bill_batch_is_printed_once_a_day(monkeypatch):
    paths = Paths.default()
    monkeypatch.setattr(demo, "demo_today", lambda: DAY_1)
    first = service.sandbox_batch(paths, count=COUNT)
    data_1 = first.read_bytes()
    assert data_1.startswith(b"%PDF")
    mtime = first.stat().st_mtime_ns
    assert service.sandbox_batch(paths, count=COUNT) == first and first.stat().st_mtime_ns == mtime

    second = service.sandbox_batch(paths, count=COUNT, as_of=DAY_2)
    assert second != first and second.read_bytes() != data_1
    latest_bill = max(c.bill_date for c in demo.demo_customers(COUNT, as_of=DAY_2))
    assert f"D:{latest_bill:%Y%m%d}".encode() in second.read_bytes()  # printed for its own day


def test_files_of_other_days_and_older_versions_are_cleared(monkeypatch):
    paths = Paths.default()
    folder = paths.sandbox_dir / "bills"
    folder.mkdir(parents=True)
    undated = folder / f"invoices-{COUNT}.txt"  # as an older version cached it
    undated.write_text("stale", encoding="utf-8")
    other = folder / "notes.txt"
    other.write_text("not a cache file", encoding="utf-8")
    monkeypatch.setattr(demo, "demo_today", lambda: DAY_1)
    first = service.sandbox_invoice_file(paths, count=COUNT)
    assert first.parent.name == "20261126" and first.name == f"invoices-{COUNT}.txt"
    assert not undated.exists() and other.exists()
    service.sandbox_batch(paths, count=COUNT)
    assert len(list(first.parent.iterdir())) == 2  # the day's batch and invoice file, together
    second = service.sandbox_invoice_file(paths, count=COUNT, as_of=DAY_2)
    assert second.parent.name == "20261203" and not first.parent.exists() and other.exists()
