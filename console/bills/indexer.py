"""Find every bill in a batch PDF: read the template's region on each page, group pages.

Reading is the slow part, so it is spread over processes (PDFium is not thread-safe):
the pages are cut into chunks, every worker opens the document once (pool initializer)
and returns the region text of the chunks it is given. Small batches are read in-process
because starting workers costs more than it saves. Grouping is a pure function
(:func:`group_pages`) of what was read.

Rules (``continuation = "no-match"``):
- a page whose region matches starts a bill for that account;
- a page without a match belongs to the bill before it; with no bill before it, it is
  reported as unmatched;
- with ``"same-account"`` a page showing the same account as the bill before it also
  continues that bill (bills that print the account number on every page);
- a page without any text (a scan) or that cannot be read is reported as unmatched and
  ends the bill before it: its content is unknown, so it is never sent with a bill;
- a rotated page is read as displayed and reported, so a clerk can look at it;
- a page without a match continues a bill only when it is turned the same way as that
  bill's first page: a page turned differently may be another customer's first page whose
  account number is no longer where the region looks (read as displayed, the region shows
  other text), so it ends the bill before it and is reported as unmatched. A batch turned
  the same way throughout (a whole scan fed sideways) groups as usual;
- an account that starts more than one bill is reported as a duplicate.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path

from console.bills.geometry import PageBox, normalise_rotation
from console.bills.pdf import PDFIUM_LOCK, BadPdfError, open_document
from console.bills.template import BillTemplate
from console.errors import Cancelled, UserFacingError

Progress = Callable[..., None]
log = logging.getLogger(__name__)

IN_PROCESS_BELOW = 400  # pages; below this, starting worker processes costs more than it saves


# ---- what is read from a page -----------------------------------------------------------------

@dataclass(frozen=True)
class PageText:
    page: int  # 1-based
    text: str = ""
    rotation: int = 0
    has_text: bool = True
    error: str | None = None
    size: tuple[float, float] = (0.0, 0.0)  # width, height as displayed (points)
    cut: str = ""  # the account number as printed, when the region's edge cuts through it


@dataclass(frozen=True)
class Bill:
    account: str
    pages: tuple[int, ...]

    @property
    def first_page(self) -> int:
        return self.pages[0]

    def as_dict(self) -> dict:
        return {"account": self.account, "pages": list(self.pages)}


@dataclass(frozen=True)
class PageIssue:
    page: int
    kind: str  # "no-match" | "no-text" | "unreadable" | "rotated"
    message: str

    def as_dict(self) -> dict:
        return {"page": self.page, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class Duplicate:
    account: str
    occurrences: tuple[tuple[int, ...], ...]  # the pages of each bill for this account

    def as_dict(self) -> dict:
        return {"account": self.account, "occurrences": [list(p) for p in self.occurrences]}


@dataclass
class BatchIndex:
    """The bills of one batch PDF and everything a clerk must look at."""

    path: Path
    pages: int
    bills: list[Bill] = field(default_factory=list)
    unmatched_pages: list[int] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    issues: list[PageIssue] = field(default_factory=list)
    file_stamp: tuple[int, int] = (0, 0)  # size and mtime (ns) of the file that was indexed

    @property
    def duplicate_accounts(self) -> set[str]:
        return {d.account for d in self.duplicates}

    @property
    def clean(self) -> bool:
        return not self.unmatched_pages and not self.duplicates

    def bill_for(self, account: str) -> list[Bill]:
        return [b for b in self.bills if b.account == account]

    def as_dict(self) -> dict:
        return {
            "file": str(self.path),
            "pages": self.pages,
            "bills": [b.as_dict() for b in self.bills],
            "unmatched_pages": list(self.unmatched_pages),
            "duplicates": [d.as_dict() for d in self.duplicates],
            "issues": [i.as_dict() for i in self.issues],
        }

    def check_unchanged(self) -> None:
        """Raise when the PDF changed since it was indexed (its bills may have moved)."""
        if self.file_stamp != (0, 0) and file_stamp(self.path) != self.file_stamp:
            raise UserFacingError(f"{self.path.name} changed since it was indexed; index it again")


def file_stamp(path: Path) -> tuple[int, int]:
    try:
        st = Path(path).stat()
    except OSError:
        return (-1, -1)
    return st.st_size, st.st_mtime_ns


# ---- grouping (pure) --------------------------------------------------------------------------

def group_pages(reads: Iterable[PageText], template: BillTemplate) -> tuple[
        list[Bill], list[int], list[Duplicate], list[PageIssue]]:
    """Turn per-page reads (in page order) into bills, unmatched pages, duplicates and issues."""
    bills: list[Bill] = []
    unmatched: list[int] = []
    issues: list[PageIssue] = []
    current: list[int] | None = None
    current_account = ""
    current_rotation = 0  # how the first page of the current bill is turned

    def close() -> None:
        nonlocal current
        if current is not None:
            bills.append(Bill(current_account, tuple(current)))
        current = None

    for r in sorted(reads, key=lambda r: r.page):
        account = template.find_account(r.text) if not (r.error or not r.has_text or r.cut) else None
        turned_away = (account is None and current is not None and r.rotation != current_rotation)
        if r.rotation and not turned_away:
            issues.append(PageIssue(r.page, "rotated",
                                    f"page {r.page} is rotated {r.rotation}°; read as displayed"))
        if r.error:
            close()
            unmatched.append(r.page)
            issues.append(PageIssue(r.page, "unreadable", f"page {r.page} cannot be read: {r.error}"))
            continue
        if not r.has_text:
            close()
            unmatched.append(r.page)
            issues.append(PageIssue(r.page, "no-text",
                                    f"page {r.page} has no text layer (a scanned image?); it is not "
                                    "attached to any bill"))
            continue
        if r.cut:
            close()
            unmatched.append(r.page)
            issues.append(PageIssue(r.page, "cut",
                                    f"page {r.page}: the account number {r.cut!r} runs past the edge of the "
                                    "template's region; widen the region (the page is not attached to any bill)"))
            continue
        continues = template.continuation in ("no-match", "same-account")
        if account is not None and not (template.continuation == "same-account" and current is not None
                                        and account == current_account):
            close()
            current, current_account, current_rotation = [r.page], account, r.rotation
        elif turned_away:
            # Read as displayed, the region of a page turned unlike the bill's first page shows
            # other text: it may be the next customer's first page. Never glue it to this bill.
            first = current[0] if current else r.page
            close()
            unmatched.append(r.page)
            issues.append(PageIssue(r.page, "rotated",
                                    f"page {r.page} is rotated {r.rotation}° (page {first}, the first page of "
                                    f"the bill before it, {current_rotation}°) and shows no account number in "
                                    "the region; it may be the first page of another bill, so it is not "
                                    "attached to any bill: look at it"))
        elif continues and current is not None:
            current.append(r.page)
        else:
            unmatched.append(r.page)
            why = ("no account number and no bill before it" if continues
                   else "no account number in the region")
            w, h = r.size
            x0, top, _x1, _bottom = template.region
            if w and h and (x0 >= w or top >= h):
                why += f" (the template's region lies outside this {w:g} × {h:g} pt page)"
            issues.append(PageIssue(r.page, "no-match", f"page {r.page}: {why}"))
    close()

    seen: dict[str, list[Bill]] = {}
    for b in bills:
        seen.setdefault(b.account, []).append(b)
    duplicates = [Duplicate(acc, tuple(b.pages for b in bs)) for acc, bs in seen.items() if len(bs) > 1]
    issues.sort(key=lambda i: (i.page, i.kind))
    return bills, unmatched, duplicates, issues


# ---- reading pages ----------------------------------------------------------------------------

class PageReader:
    """Reads the template region of pages of one open document (one per process).

    With the template's ``pattern`` it also checks that a found account number is not cut
    by the region's edge: PDFium returns every character that touches the region, so a
    region ending inside "100102-01" reads "100102-0", which a loose pattern would accept
    as an account — the wrong customer's bill. Such a page is reported instead.
    """

    def __init__(self, path: Path | str, region: tuple[float, float, float, float], pattern: str | None = None):
        self.path = Path(path)
        self.region = region
        self.template = BillTemplate(region, pattern) if pattern else None
        self.doc = open_document(self.path)

    def __len__(self) -> int:
        return len(self.doc)

    def read(self, index: int) -> PageText:
        number = index + 1
        try:
            page = self.doc[index]
        except Exception as exc:  # PDFium refuses a damaged page: report it, keep going
            return PageText(number, error=str(exc) or type(exc).__name__)
        try:
            rotation = normalise_rotation(page.get_rotation())
            left, bottom, right, top = page.get_bbox()
            box = PageBox(left, bottom, right, top, rotation)
            size = box.display_size
            textpage = page.get_textpage()
            try:
                if textpage.count_chars() <= 0:
                    return PageText(number, rotation=rotation, has_text=False, size=size)
                user = box.region_to_user(self.region)
                text = textpage.get_text_bounded(left=user[0], bottom=user[1], right=user[2], top=user[3])
                cut = self._cut_account(textpage, text, user)
            finally:
                textpage.close()
            return PageText(number, text=text, rotation=rotation, size=size, cut=cut)
        except Exception as exc:
            return PageText(number, error=str(exc) or type(exc).__name__)
        finally:
            page.close()

    def _cut_account(self, textpage, text: str, user: tuple[float, float, float, float]) -> str:
        """The whole word, when the account found in the region continues outside it; else ""."""
        if self.template is None:
            return ""
        account = self.template.find_account(text)
        if not account:
            return ""
        full = textpage.get_text_range()
        n = len(full)

        def inside(i: int) -> bool:
            left, bottom, right, top = textpage.get_charbox(i)
            return left <= user[2] and right >= user[0] and bottom <= user[3] and top >= user[1]

        start = full.find(account)
        while start >= 0:
            end = start + len(account)
            if inside(start) or inside(end - 1):
                first, last = start, end
                while first > 0 and not full[first - 1].isspace() and not inside(first - 1):
                    first -= 1
                while last < n and not full[last].isspace() and not inside(last):
                    last += 1
                return full[first:last] if (first, last) != (start, end) else ""
            start = full.find(account, start + 1)
        return ""

    def read_range(self, start: int, stop: int) -> list[PageText]:
        return [self.read(i) for i in range(start, stop)]

    def close(self) -> None:
        self.doc.close()


_worker_reader: PageReader | None = None  # one per worker process, set by the pool initializer


def _init_worker(path: str, region: tuple[float, float, float, float], pattern: str | None = None) -> None:
    global _worker_reader
    _worker_reader = PageReader(path, region, pattern)


def _read_chunk(start: int, stop: int) -> list[PageText]:
    assert _worker_reader is not None, "worker not initialised"
    return _worker_reader.read_range(start, stop)


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(total, start + size)


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


# ---- the service call -------------------------------------------------------------------------

def index_batch(
    path: Path | str,
    template: BillTemplate,
    *,
    progress: Progress | None = None,
    cancel=None,
    workers: int | None = None,
    in_process_below: int = IN_PROCESS_BELOW,
    chunk_size: int | None = None,
) -> BatchIndex:
    """Index a batch PDF. Raises BadPdfError for an unreadable file, Cancelled on cancel."""
    path = Path(path)
    started = time.perf_counter()
    stamp = file_stamp(path)
    with PDFIUM_LOCK:
        reader = PageReader(path, template.region, template.pattern)
        total = len(reader)
        if total == 0:
            reader.close()
            raise BadPdfError(path, "it has no pages")
        workers = workers or default_workers()
        parallel = workers > 1 and total >= in_process_below
        size = chunk_size or _chunk_size(total, workers if parallel else 1)
        _report(progress, 0, total, f"Reading {total} pages")
        if not parallel:
            try:
                reads = []
                for start, stop in _chunks(total, size):
                    _check_cancel(cancel)
                    reads.extend(reader.read_range(start, stop))
                    _report(progress, stop, total, f"Read {stop} of {total} pages")
            finally:
                reader.close()
        else:
            reader.close()
    if parallel:
        reads = _read_parallel(path, template, total, size, workers, progress, cancel)
    bills, unmatched, duplicates, issues = group_pages(reads, template)
    index = BatchIndex(path, total, bills, unmatched, duplicates, issues, stamp)
    index.check_unchanged()  # the file was replaced while it was read: the result is not trustworthy
    log.info("indexed %s: %d pages, %d bills, %d unmatched pages, %d duplicate accounts in %.2f s (%s)",
             path.name, total, len(bills), len(unmatched), len(duplicates), time.perf_counter() - started,
             f"{workers} worker processes" if parallel else "in-process")
    return index


def start_method():
    """How worker processes start.

    - ``fork``: instant, inherits the loaded PDFium; only safe in a process with a single
      thread, on Linux (the command line);
    - ``forkserver`` (Linux with other threads running: the GUI): a clean single-threaded
      server, started once per program with this module preloaded, forks the workers, so
      only the first indexing pays for starting Python and loading PDFium;
    - ``spawn`` everywhere else (Windows, macOS, frozen builds).
    """
    if sys.platform.startswith("linux"):
        if _os_threads() == 1:
            return multiprocessing.get_context("fork")
        if not getattr(sys, "frozen", False):
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload([__name__])
            return ctx
    return multiprocessing.get_context("spawn")


def _os_threads() -> int:
    """Threads of this process as the OS counts them (Qt's threads are unknown to ``threading``)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return max(2, threading.active_count())


def _chunk_size(total: int, workers: int) -> int:
    # ~8 chunks per worker for smooth progress and prompt cancel, 16..200 pages each
    return max(16, min(200, -(-total // (workers * 8))))


def _read_parallel(path: Path, template: BillTemplate, total: int, size: int, workers: int,
                   progress: Progress | None, cancel) -> list[PageText]:
    pool = ProcessPoolExecutor(max_workers=min(workers, -(-total // size)), mp_context=start_method(),
                               initializer=_init_worker, initargs=(str(path), template.region, template.pattern))
    reads: list[PageText] = []
    done_pages = 0
    pending: dict = {}
    chunks = iter(_chunks(total, size))
    current = (0, size)

    # Keep only a couple of chunks per worker queued, so cancel never waits for the whole file.
    def top_up() -> None:
        while len(pending) < workers * 2:
            nxt = next(chunks, None)
            if nxt is None:
                return
            pending[pool.submit(_read_chunk, *nxt)] = nxt

    try:
        top_up()
        while pending:
            _check_cancel(cancel)
            finished, _ = wait(list(pending), timeout=0.1, return_when=FIRST_COMPLETED)
            for fut in sorted(finished, key=lambda f: pending[f]):
                current = pending.pop(fut)
                reads.extend(fut.result())
                done_pages += current[1] - current[0]
                _report(progress, done_pages, total, f"Read {done_pages} of {total} pages")
            top_up()
    except BrokenProcessPool:  # a worker died (PDFium fault, out of memory): on a result or a submit
        _stop_pool(pool)
        first, last = min([current, *pending.values()])
        raise BadPdfError(path, f"the PDF reader processes stopped while reading pages {first + 1}-{last}",
                          hint="the file may be damaged, or the computer ran out of memory") from None
    except BaseException:
        _stop_pool(pool)
        raise
    pool.shutdown(wait=True)
    return reads


def _stop_pool(pool: ProcessPoolExecutor) -> None:
    """Cancel queued chunks and end the workers now (a cancel must not wait for reads)."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(timeout=2)


def _check_cancel(cancel) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("Indexing cancelled")


def _report(progress: Progress | None, done: int, total: int, message: str) -> None:
    if progress is not None:
        progress(done, total, message)
