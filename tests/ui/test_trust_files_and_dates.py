"""Posting › Files: rows and control totals that are right and names people read (a sent
invoice file's byte count is not dollars), and times in the one local format."""

from __future__ import annotations

from datetime import UTC, datetime

from console.adapters.journal import FileRecord
from console.formatting import format_date, format_datetime, format_time
from console.ui.posting_models import FilesModel

IMPORTED = "2026-12-07T19:05:00+00:00"


def record(kind: str, total: str, records: int = 1, name: str = "f.txt") -> FileRecord:
    return FileRecord("fp-" + kind, name, kind, IMPORTED, "clerk1", records, total, 1)


def cells(model: FilesModel, row: int) -> dict[str, str]:
    return {h: model.data(model.index(row, c)) for c, h in enumerate(FilesModel.HEADERS)}


def test_files_table_shows_right_rows_totals_and_readable_kinds(qtmodeltester):
    model = FilesModel()
    model.set_files([record("transfer.invoices", "48213", name="ICExport-Dec.txt"),
                     record("payments", "7589.63", records=50, name="payments.csv"),
                     record("lockbox.email", "1250.00", name="LB1207.txt"),
                     record("changes", "0", records=12, name="changes.csv")])
    qtmodeltester.check(model)
    sent = cells(model, 0)
    assert sent["Holds"] == "Invoice file (sent)" and sent["Control total"] == "—" and sent["Rows"] == "—"
    assert "$" not in sent["Control total"] and "48,213 bytes" in model.data(model.index(0, 0), 3)  # tooltip
    paid = cells(model, 1)
    assert paid["Holds"] == "Payments" and paid["Rows"] == "50" and paid["Control total"] == "$7,589.63"
    assert cells(model, 2)["Holds"] == "Lockbox file (e-mailed)" and cells(model, 2)["Control total"] == "$1,250.00"
    assert cells(model, 3)["Control total"] == "—"
    assert all("UTC" not in h for h in FilesModel.HEADERS)
    assert paid["When"] == format_datetime(datetime(2026, 12, 7, 19, 5, tzinfo=UTC))


def test_one_local_format_for_people():
    moment = datetime(2026, 12, 7, 19, 5, 9, tzinfo=UTC)
    local = moment.astimezone()
    assert format_date(moment) == format_date(local.date()) and "2026" in format_date(moment)
    assert format_datetime(moment) == f"{format_date(moment)} {format_time(moment)}"
    assert format_datetime("2026-12-07T19:05:09Z") == format_datetime(moment)  # journal strings are UTC
    assert format_datetime(moment.replace(tzinfo=None)) == format_datetime(moment)  # naive = UTC
    assert format_time(moment, seconds=True).count(":") == 2 and format_datetime(None) == ""
