"""Bill images benchmark: index a generated 5,000-page bill batch.

Prints pages/s of the console's indexer (process pool across the cores), of its in-process
reader, and the ratio to a naive pdfplumber ``extract_text()`` loop over the same file,
measured in the same run. The naive loop is far too slow for 5,000 pages, so it runs on
an evenly spread sample of pages and its whole-file time is extrapolated (printed as such).
Also prints how long the Bill Images preview takes from selecting a bill to its page painted.

Targets (2 cores): >= 800 pages/s and >= 20x the naive loop; a preview < 100 ms.

    .venv/bin/python benchmarks/bench_bills.py [--pages 5000] [--sample 250] [--pdf existing.pdf]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_RATE = 800.0
TARGET_RATIO = 20.0
TARGET_PREVIEW_MS = 100.0


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the indexer's workers)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0.0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def make_batch(pages: int, dest: Path) -> Path:
    from console.sandbox.bill_pdf import bill_page_count, build_bill_batch
    from console.sandbox.seed import demo_customers

    pool = demo_customers(int(pages * 0.95) + 50)
    chosen, total = [], 0
    for c in pool:
        n = bill_page_count(c)
        if total + n > pages:
            continue
        chosen.append(c)
        total += n
        if total == pages:
            break
    if total != pages:
        raise SystemExit(f"could not compose a {pages}-page batch from the demo customers ({total})")
    build_bill_batch(chosen, dest)
    return dest


def naive_rate(pdf: Path, sample: int, total_pages: int) -> tuple[float, int]:
    """pdfplumber extract_text() per page, each page closed (as its docs advise)."""
    import pdfplumber

    step = max(1, total_pages // sample)
    indices = list(range(0, total_pages, step))[:sample]
    t0 = time.perf_counter()
    with pdfplumber.open(str(pdf)) as doc:
        for i in indices:
            page = doc.pages[i]
            page.extract_text()
            page.close()
    return len(indices) / (time.perf_counter() - t0), len(indices)


def preview_ms(pdf: Path, samples: int = 30) -> list[float]:
    """Select a bill in the tab's preview widget; time until its page is painted with text."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from console.ui.bills_preview import BillPreview

    app = QApplication.instance() or QApplication([])
    preview = BillPreview()
    preview.resize(900, 800)
    preview.show()
    op = preview.load(pdf)  # opened on a worker
    while not op.done:
        app.processEvents()
    assert preview.error is None, preview.error
    for _ in range(20):
        app.processEvents()

    def painted() -> bytes:
        image = preview.view.viewport().grab().toImage()  # keep it alive while its bits are read
        return bytes(image.constBits())

    times = []
    n = preview.page_count
    before = painted()
    for k in range(samples):
        page = 1 + (k * 7919) % n
        t0 = time.perf_counter()
        preview.show_bill((page,))
        while True:  # until the view shows a different picture with text on it, at most 2 s
            app.processEvents()
            now = painted()
            if now != before and sum(1 for b in now[::97] if b < 90) > 50:
                break
            if time.perf_counter() - t0 > 2:
                break
        times.append((time.perf_counter() - t0) * 1000)
        before = now
    preview.close()
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=5000)
    ap.add_argument("--sample", type=int, default=250, help="pages for the naive pdfplumber loop")
    ap.add_argument("--pdf", type=Path, help="use this batch instead of generating one")
    ap.add_argument("--runs", type=int, default=3, help="indexer runs (the best is the figure)")
    args = ap.parse_args()

    from console.bills.indexer import default_workers, index_batch
    from console.bills.service import resolve_template

    template = resolve_template(None)
    with tempfile.TemporaryDirectory() as tmp:
        pdf = args.pdf
        if pdf is None:
            t0 = time.perf_counter()
            pdf = make_batch(args.pages, Path(tmp) / "batch.pdf")
            print(f"generated {pdf.stat().st_size / 1e6:.1f} MB, {args.pages} pages in "
                  f"{time.perf_counter() - t0:.1f} s")

        workers = default_workers()
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(f"machine: {os.cpu_count()} cores, {workers} usable, load average {load:.1f} at start "
              "(other work on the machine slows every figure below alike)")
        parallel_runs, serial_runs, cpu_runs = [], [], []
        index = serial = None
        for _ in range(args.runs):  # alternate, so a burst of other work hits both alike
            cpu0 = _cpu_seconds()
            t0 = time.perf_counter()
            index = index_batch(pdf, template)
            parallel_runs.append(time.perf_counter() - t0)
            cpu_runs.append(_cpu_seconds() - cpu0)
            t0 = time.perf_counter()
            serial = index_batch(pdf, template, workers=1)
            serial_runs.append(time.perf_counter() - t0)
        assert index is not None and serial is not None
        assert serial.as_dict() == index.as_dict(), "in-process and pooled results differ"
        pages = index.pages
        rate = pages / min(parallel_runs)
        problems = len(index.unmatched_pages) + len(index.duplicates)
        print(f"indexer ({workers} workers): {pages} pages, {len(index.bills)} bills, {problems} problems; "
              f"best of {args.runs}: {min(parallel_runs):.2f} s = {rate:,.0f} pages/s "
              f"(runs: {', '.join(f'{pages / t:,.0f}' for t in parallel_runs)} pages/s)")
        cpu_s = min(c for c in cpu_runs)
        if cpu_s > 0:
            print(f"  CPU used: {cpu_s:.2f} s = {pages / cpu_s:,.0f} pages per CPU-second; on {workers} idle cores "
                  f"that is about {workers * pages / cpu_s:,.0f} pages/s (estimate, not a measurement)")
        print(f"indexer in-process (1 core): best {pages / min(serial_runs):,.0f} pages/s "
              f"(runs: {', '.join(f'{pages / t:,.0f}' for t in serial_runs)})")

        naive, sampled = naive_rate(pdf, args.sample, pages)
        naive_total_s = pages / naive
        ratio = rate / naive
        print(f"naive pdfplumber extract_text() loop: {naive:,.1f} pages/s, measured on {sampled} pages "
              f"spread over the file; whole file extrapolated: {naive_total_s:,.0f} s")
        print(f"ratio indexer / naive: {ratio:,.1f}x")

        ms = preview_ms(pdf)
        p95 = sorted(ms)[int(len(ms) * 0.95) - 1]
        print(f"page preview (select a bill -> page painted in the QPdfView): median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms")

        ok = rate >= TARGET_RATE and ratio >= TARGET_RATIO and p95 < TARGET_PREVIEW_MS and problems == 0
        print(f"targets: >= {TARGET_RATE:.0f} pages/s, >= {TARGET_RATIO:.0f}x naive, preview < "
              f"{TARGET_PREVIEW_MS:.0f} ms -> {'MET' if ok else 'NOT MET'}")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
