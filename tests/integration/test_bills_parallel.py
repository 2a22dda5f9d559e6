"""The process-pool path of the indexer: same result as in-process, progress, prompt cancel,
and the CLI contract on a generated batch."""

from __future__ import annotations

import json
import subprocess
import sys
import threading

import pytest

from console.bills.indexer import index_batch
from console.bills.service import sandbox_template_path
from console.errors import Cancelled
from tests.bills_pdfs import TEMPLATE, make_pdf


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    pages = []
    for i in range(240):
        pages.append(f"Acct: N{i // 3}" if i % 3 == 0 else ("" if i % 3 == 1 else "cont"))
    pages[100] = None  # a page without text in the middle
    return make_pdf(tmp_path_factory.mktemp("b") / "big.pdf", pages)


@pytest.fixture(params=["fork", "forkserver", "spawn"])
def start(request, monkeypatch):
    """Every way workers start: fork (command line), fork server (GUI), spawn (other systems)."""
    import multiprocessing

    from console.bills import indexer

    monkeypatch.setattr(indexer, "start_method", lambda: multiprocessing.get_context(request.param))
    return request.param


def test_start_method_is_spawn_when_threads_run():
    from console.bills.indexer import start_method

    done = threading.Event()
    t = threading.Thread(target=done.wait)
    t.start()
    try:
        assert start_method().get_start_method() == "forkserver"
    finally:
        done.set()
        t.join()


def test_process_pool_gives_the_same_index_as_in_process(big, start):
    seen = []
    parallel = index_batch(big, TEMPLATE, workers=2, in_process_below=0, chunk_size=20,
                           progress=lambda d, t, m="": seen.append(d))
    serial = index_batch(big, TEMPLATE, workers=1)
    assert parallel.as_dict() == serial.as_dict()
    assert len(parallel.bills) == 80 and parallel.unmatched_pages == [101, 102]
    assert seen[0] == 0 and seen[-1] == 240 and seen == sorted(seen)


def test_cancel_stops_the_pool(big, start):
    cancel = threading.Event()

    def progress(done, total, message=""):
        if done >= 20:
            cancel.set()

    with pytest.raises(Cancelled):
        index_batch(big, TEMPLATE, workers=2, in_process_below=0, chunk_size=10, progress=progress,
                    cancel=cancel)


def test_cli_index_and_split(tmp_path):
    from console.sandbox.bill_pdf import bill_page_count, build_bill_batch
    from console.sandbox.seed import demo_customers

    customers = demo_customers(12)
    pdf = tmp_path / "cycle.pdf"
    build_bill_batch(customers, pdf)
    cli = [sys.executable, "-m", "console"]
    p = subprocess.run([*cli, "bills", "index", str(pdf), "--template", str(sandbox_template_path()), "--json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    got = json.loads(p.stdout)
    assert [b["account"] for b in got["bills"]] == [c.account_number for c in customers]
    assert got["pages"] == sum(bill_page_count(c) for c in customers)
    assert got["unmatched_pages"] == [] and got["duplicates"] == []

    out = tmp_path / "out"
    p = subprocess.run([*cli, "bills", "split", str(pdf), "--out", str(out)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr
    assert sorted(f.name for f in out.iterdir()) == sorted(f"{c.account_number}.pdf" for c in customers)

    bad = tmp_path / "cut.pdf"
    bad.write_bytes(pdf.read_bytes()[:5000])
    p = subprocess.run([*cli, "bills", "index", str(bad), "--json"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 66 and "cut.pdf" in p.stderr and "truncated" in p.stderr


def test_cli_split_with_an_invoice_file_names_and_cross_checks(tmp_path):
    from console.sandbox.bill_pdf import build_bill_batch
    from console.sandbox.invoice_export import write_invoice_export
    from console.sandbox.seed import demo_customers

    customers = demo_customers(10)
    pdf = tmp_path / "cycle.pdf"
    build_bill_batch(customers[:8], pdf)  # two invoices have no bill in this batch
    invoices = tmp_path / "invoices.txt"
    write_invoice_export(invoices, 10)
    out = tmp_path / "out"
    cli = [sys.executable, "-m", "console", "bills", "split", str(pdf), "--out", str(out),
           "--invoices", str(invoices), "--json"]
    p = subprocess.run(cli, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr  # done, but two invoices need a look
    got = json.loads(p.stdout)
    names = sorted(f["file"] for f in got["written"])
    assert names == sorted(f"{c.account_number}_{c.invoice_number}.pdf" for c in customers[:8])
    assert sorted(f.name for f in out.iterdir()) == names
    missing = got["cross_check"]["invoices_without_image"]
    assert [m["account"] for m in missing] == [c.account_number for c in customers[8:]]
    assert got["cross_check"]["images_without_invoice"] == []

    broken = tmp_path / "broken.txt"
    text = invoices.read_text(encoding="utf-8")  # universal newlines: "\n" whatever the file has
    broken.write_text(text.replace("\n", "\nnot,a,valid,row\n", 1), encoding="utf-8")
    p = subprocess.run([*cli[:-2], str(broken)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 1 and "broken.txt" in p.stderr


def _die(start, stop):  # a worker that crashes the way a PDFium fault would (module level: picklable)
    import os

    os._exit(3)


def test_a_crashing_worker_gives_a_clear_error_not_a_hang(big, monkeypatch):
    import multiprocessing

    from console.bills import indexer
    from console.bills.pdf import BadPdfError

    monkeypatch.setattr(indexer, "start_method", lambda: multiprocessing.get_context("fork"))
    monkeypatch.setattr(indexer, "_read_chunk", _die)
    with pytest.raises(BadPdfError, match="big.pdf.*stopped while reading pages"):
        index_batch(big, TEMPLATE, workers=2, in_process_below=0, chunk_size=20)


def test_cli_rotated_first_page_is_held_not_glued_to_the_bill_before(tmp_path):
    import pypdfium2 as pdfium

    from console.sandbox.bill_pdf import bill_page_count, build_bill_batch
    from console.sandbox.seed import demo_customers

    customers = demo_customers(4)
    pdf = tmp_path / "cycle.pdf"
    build_bill_batch(customers, pdf)
    first = 1 + bill_page_count(customers[0]) + bill_page_count(customers[1])  # the third bill's first page
    doc = pdfium.PdfDocument(str(pdf))
    doc[first - 1].set_rotation(90)
    rotated = tmp_path / "rotated.pdf"
    doc.save(str(rotated))
    doc.close()

    cli = [sys.executable, "-m", "console"]
    p = subprocess.run([*cli, "bills", "index", str(rotated), "--template", str(sandbox_template_path()), "--json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2, p.stderr  # something needs a look
    got = json.loads(p.stdout)
    second = got["bills"][1]
    assert second["account"] == customers[1].account_number
    assert second["pages"] == list(range(first - bill_page_count(customers[1]), first))
    assert first in got["unmatched_pages"]
    assert customers[2].account_number not in [b["account"] for b in got["bills"]]

    out = tmp_path / "out"
    p = subprocess.run([*cli, "bills", "split", str(rotated), "--out", str(out)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 2, p.stderr  # the rotated bill is held: a look
    doc = pdfium.PdfDocument(str(out / f"{customers[1].account_number}.pdf"))
    assert len(doc) == bill_page_count(customers[1])  # none of the rotated bill's pages
    doc.close()
    assert not (out / f"{customers[2].account_number}.pdf").exists()
