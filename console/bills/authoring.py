"""Template authoring without Qt: the words on a sample page, what a drawn region holds,
whether the pattern finds an account in it, and a pattern suggestion for clerks who do
not write regular expressions.

Words come from pdfplumber. pdfplumber measures from the top-left of the *MediaBox*
(rotation applied) and ignores the CropBox, so every word is moved into the same frame as
template regions: the page as displayed (CropBox, rotation), see ``console.bills.geometry``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

from console.bills.geometry import PageBox, normalise_rotation
from console.bills.pdf import PDFIUM_LOCK, BadPdfError, check_pdf_file, open_document
from console.bills.template import CONTINUATIONS, BillTemplate, parse_template

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.top + self.bottom) / 2

    def inside(self, region: Rect) -> bool:
        cx, cy = self.center
        return region[0] <= cx <= region[2] and region[1] <= cy <= region[3]


@dataclass(frozen=True)
class SamplePage:
    """One page of a sample bill as the clerk sees it, with its words."""

    page: int  # 1-based
    pages: int  # pages in the document
    width: float  # as displayed
    height: float
    rotation: int
    words: tuple[Word, ...]

    @property
    def has_text(self) -> bool:
        return bool(self.words)

    def words_in(self, region: Rect) -> list[Word]:
        return [w for w in self.words if w.inside(region)]

    def region_text(self, region: Rect) -> str:
        """The words in the region, line by line (top to bottom, left to right)."""
        words = sorted(self.words_in(region), key=lambda w: (round(w.top), w.x0))
        lines: list[list[Word]] = []
        for w in words:
            if lines and abs(lines[-1][0].top - w.top) <= 3:
                lines[-1].append(w)
            else:
                lines.append([w])
        return "\n".join(" ".join(x.text for x in sorted(line, key=lambda w: w.x0)) for line in lines)


def load_sample_page(path: Path | str, page: int) -> SamplePage:
    """Read page ``page`` (1-based) of a PDF with pdfplumber, words in displayed coordinates.

    Only that page is handed to pdfplumber (copied into a one-page PDF in memory): opening a
    batch of thousands of pages with pdfplumber would take seconds for every page shown.
    """
    import pdfplumber
    import pypdfium2 as pdfium

    path = check_pdf_file(path)
    with PDFIUM_LOCK:
        doc = open_document(path)
        try:
            count = len(doc)
            if not 1 <= page <= count:
                raise BadPdfError(path, f"it has no page {page} (pages 1-{count})")
            p = doc[page - 1]
            rotation = normalise_rotation(p.get_rotation())
            media = PageBox(*p.get_mediabox(), rotation=rotation)
            shown = PageBox(*p.get_bbox(), rotation=rotation)
            p.close()
            single = pdfium.PdfDocument.new()
            try:
                single.import_pages(doc, [page - 1])
                buf = io.BytesIO()
                single.save(buf)
            finally:
                single.close()
        finally:
            doc.close()
        try:
            with pdfplumber.open(io.BytesIO(buf.getvalue())) as pdf:
                pl_page = pdf.pages[0]
                raw_words = pl_page.extract_words(keep_blank_chars=False, use_text_flow=False)
                pl_page.close()
        except Exception as exc:  # pdfminer raises many types for damaged content
            raise BadPdfError(path, f"page {page} cannot be read ({type(exc).__name__})") from None
    words = []
    for w in raw_words:
        a = shown.to_display(*media.to_user(float(w["x0"]), float(w["top"])))
        b = shown.to_display(*media.to_user(float(w["x1"]), float(w["bottom"])))
        words.append(Word(str(w["text"]), min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])))
    width, height = shown.display_size
    return SamplePage(page, count, width, height, rotation, tuple(words))


@dataclass(frozen=True)
class DraftResult:
    words: list[Word]
    text: str
    account: str | None
    error: str | None  # the pattern or region is not usable yet (shown next to the field)
    warning: str | None = None  # usable, but risky: the rectangle cuts through the account number


def evaluate(sample: SamplePage, region: Rect | None, pattern: str) -> DraftResult:
    """What the drawn region holds and whether the pattern finds an account in it (live)."""
    if region is None or region[2] - region[0] < 1 or region[3] - region[1] < 1:
        return DraftResult([], "", None, "Draw a rectangle around the account number")
    words = sample.words_in(region)
    text = sample.region_text(region)
    try:
        rx = re.compile(pattern)
    except re.error as exc:
        return DraftResult(words, text, None, f"The pattern is not a valid regular expression: {exc}")
    if "account" not in rx.groupindex:
        return DraftResult(words, text, None, "The pattern needs a group (?P<account>...)")
    m = rx.search(text)
    account = (m.group("account") or "").strip() if m else ""
    warning = None
    if account:
        x0, top, x1, bottom = region
        cut = [w for w in sample.words
               if w.x0 < x1 and w.x1 > x0 and w.top < bottom and w.bottom > top  # touches the rectangle
               and not (w.x0 >= x0 and w.x1 <= x1 and w.top >= top and w.bottom <= bottom)  # not inside
               and (account in w.text or w.text in account)]
        if cut:
            warning = (f"The rectangle cuts through {cut[0].text!r}: make it a little larger, or pages "
                       "whose number is longer are reported as cut")
    return DraftResult(words, text, account or None, None if m else "The pattern does not match the text",
                       warning)


def suggest_pattern(text: str) -> str | None:
    """A pattern from what the region holds: the label before the last number-like word, and
    that word with digits generalised, e.g. ``Account Number 100102-01`` →
    ``Account\\s+Number\\s*(?P<account>\\d{6}-\\d{2})``."""
    tokens = text.split()
    idx = next((i for i in range(len(tokens) - 1, -1, -1) if re.search(r"\d", tokens[i])), None)
    if idx is None:
        return None
    value = tokens[idx].strip(".,;")
    parts = []
    for run in re.findall(r"\d+|[A-Za-z]+|[^\dA-Za-z]", value):
        # digits vary from bill to bill; letters and separators are usually fixed
        parts.append(rf"\d{{{len(run)}}}" if run.isdigit() else re.escape(run).replace("\\-", "-"))
    shape = "".join(parts)
    label = [t for t in tokens[max(0, idx - 3):idx] if not re.search(r"\d", t)]
    prefix = r"\s+".join(re.escape(t) for t in label)
    return rf"{prefix}\s*(?P<account>{shape})" if prefix else rf"(?P<account>{shape})"


def build_template(region: Rect, pattern: str, continuation: str = "no-match", name: str = "") -> BillTemplate:
    """Validate a draft exactly as a file would be (ValidationError with the problems)."""
    if continuation not in CONTINUATIONS:
        continuation = str(continuation)
    draft = BillTemplate(tuple(round(v, 1) for v in region), pattern, continuation, name)  # type: ignore[arg-type]
    return parse_template(draft.to_toml(), source="the draft template")
