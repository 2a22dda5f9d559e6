"""Template authoring: a region drawn around the words pdfplumber shows finds the same account
in the indexer (PDFium), also on pages with an offset crop box or a rotation; suggestions."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.bills.authoring import build_template, evaluate, load_sample_page, suggest_pattern
from console.bills.indexer import index_batch
from console.bills.pdf import BadPdfError
from console.bills.template import BillTemplate
from console.errors import ValidationError
from tests.bills_pdfs import make_pdf

PATTERN = r"Acct:\s*(?P<account>[A-Z0-9-]+)"


def box_around(sample, text: str, pad: float = 4.0):
    # pdfplumber spells upside-down text backwards; its position is still right
    words = [w for w in sample.words if w.text.startswith(text) or w.text[::-1].startswith(text)]
    assert words, [w.text for w in sample.words]
    xs0 = min(w.x0 for w in words)
    tops = min(w.top for w in words)
    xs1 = max(w.x1 for w in words)
    bottoms = max(w.bottom for w in words)
    return (max(0.0, xs0 - 40 - pad), max(0.0, tops - pad), xs1 + pad, bottoms + pad)


@pytest.mark.parametrize("crop, rotation", [(None, 0), ((25, 15, 600, 770), 0), (None, 90),
                                            ((25, 15, 600, 770), 180)])
def test_region_drawn_on_pdfplumber_words_matches_in_the_indexer(tmp_path, crop, rotation):
    src = make_pdf(tmp_path / "a.pdf", ["Acct: ZX-42"], body=False)
    doc = pdfium.PdfDocument(str(src))
    page = doc[0]
    if crop:
        page.set_cropbox(*crop)
    page.set_rotation(rotation)
    doc.save(str(tmp_path / "b.pdf"))
    doc.close()

    sample = load_sample_page(tmp_path / "b.pdf", 1)
    assert sample.rotation == rotation
    region = box_around(sample, "ZX-42")
    if rotation == 180:  # the label is to the right of the number as displayed
        region = (region[0] + 40, region[1], region[2] + 40, region[3])
    if rotation in (90, 270):  # the words run downwards: widen along the text direction instead
        region = (region[0] - 4, max(0.0, region[1] - 40), region[2] + 4, region[3] + 4)
    result = evaluate(sample, region, PATTERN)
    if rotation == 0:
        assert result.account == "ZX-42"
    index = index_batch(tmp_path / "b.pdf", BillTemplate(region, PATTERN))
    assert [b.account for b in index.bills] == ["ZX-42"]


def test_evaluate_reports_what_is_wrong():
    from console.bills.authoring import SamplePage, Word

    sample = SamplePage(1, 1, 612, 792, 0, (Word("Account", 10, 10, 50, 20), Word("12345", 55, 10, 90, 20),
                                            Word("Other", 10, 300, 50, 310)))
    assert evaluate(sample, None, PATTERN).error.startswith("Draw")
    r = evaluate(sample, (0, 0, 100, 30), r"Account\s*(?P<account>\d+)")
    assert r.account == "12345" and r.text == "Account 12345" and len(r.words) == 2
    assert "not a valid" in evaluate(sample, (0, 0, 100, 30), "(").error
    assert "needs a group" in evaluate(sample, (0, 0, 100, 30), r"\d+").error
    assert "does not match" in evaluate(sample, (0, 0, 100, 30), r"Nope (?P<account>\d+)").error
    assert r.warning is None
    cut = evaluate(sample, (0, 0, 80, 30), r"Account\s*(?P<account>\d+)")  # ends inside "12345"
    assert cut.account == "12345" and "cuts through '12345'" in cut.warning


def test_build_template_validates_like_a_file():
    assert build_template((1, 2, 30, 40), PATTERN).region == (1, 2, 30, 40)
    with pytest.raises(ValidationError):
        build_template((30, 2, 1, 40), PATTERN)


def test_sample_page_errors(tmp_path):
    pdf = make_pdf(tmp_path / "a.pdf", ["Acct: A1"])
    with pytest.raises(BadPdfError, match="no page 3"):
        load_sample_page(pdf, 3)
    (tmp_path / "bad.pdf").write_bytes(b"%PDF-1.4\n garbage \n%%EOF\n")
    with pytest.raises(BadPdfError, match="bad.pdf"):
        load_sample_page(tmp_path / "bad.pdf", 1)


@given(label=st.sampled_from(["Account Number", "Acct:", "Account #", "Customer No."]),
       number=st.from_regex(r"[0-9]{3,8}(-[0-9]{1,3})?|[A-Z]{2}-[0-9]{4}", fullmatch=True))
def test_suggested_pattern_matches_its_own_text(label, number):
    text = f"{label} {number}"
    pattern = suggest_pattern(text)
    t = build_template((0, 0, 10, 10), pattern)
    assert t.find_account(text) == number
    assert t.find_account(f"{label}\n{number}") == number  # label and number on two lines
