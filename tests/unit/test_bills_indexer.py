"""The indexer on generated PDFs with known layouts (in-process path) and its pure grouping."""

from __future__ import annotations

import threading

import pypdfium2 as pdfium
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.bills.geometry import PageBox
from console.bills.indexer import PageText, group_pages, index_batch
from console.bills.pdf import BadPdfError
from console.bills.service import resolve_template
from console.bills.template import BillTemplate
from console.errors import Cancelled, UserFacingError
from console.sandbox.bill_pdf import bill_page_count, build_bill_batch
from console.sandbox.seed import demo_customers
from tests.bills_pdfs import TEMPLATE, make_pdf, rotate_pages


def summary(index):
    return [(b.account, list(b.pages)) for b in index.bills]


def test_reads_only_the_region_and_groups_continuations(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: A1", "continued", "Acct: B2", "Acct: C3", "", "more"])
    index = index_batch(pdf, TEMPLATE)
    assert index.pages == 6
    # "Acct: OUTSIDE<n>" is on every page outside the region and must never be found
    assert summary(index) == [("A1", [1, 2]), ("B2", [3]), ("C3", [4, 5, 6])]
    assert index.unmatched_pages == [] and index.duplicates == [] and index.clean


def test_first_page_without_a_bill_before_it_is_unmatched(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["cover letter", "page two", "Acct: A1"])
    index = index_batch(pdf, TEMPLATE)
    assert summary(index) == [("A1", [3])]
    assert index.unmatched_pages == [1, 2]
    assert {i.kind for i in index.issues} == {"no-match"}


def test_continuation_none_reports_every_unmatched_page(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: A1", "continued", "Acct: B2"])
    t = BillTemplate(TEMPLATE.region, TEMPLATE.pattern, continuation="none")
    index = index_batch(pdf, t)
    assert summary(index) == [("A1", [1]), ("B2", [3])]
    assert index.unmatched_pages == [2]


def test_duplicates_are_reported_with_every_occurrence(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: A1", "x", "Acct: B2", "Acct: A1", "Acct: B2", "Acct: C3"])
    index = index_batch(pdf, TEMPLATE)
    dups = {d.account: [list(o) for o in d.occurrences] for d in index.duplicates}
    assert dups == {"A1": [[1, 2], [4]], "B2": [[3], [5]]}
    assert not index.clean


def test_page_without_text_layer_is_reported_and_ends_the_bill(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: A1", None, "no account here", "Acct: B2"])
    index = index_batch(pdf, TEMPLATE)
    assert summary(index) == [("A1", [1]), ("B2", [4])]
    assert index.unmatched_pages == [2, 3]
    kinds = {(i.page, i.kind) for i in index.issues}
    assert kinds == {(2, "no-text"), (3, "no-match")}


def test_rotated_page_is_read_as_displayed_and_reported(tmp_path):
    src = make_pdf(tmp_path / "b.pdf", ["Acct: A1", "Acct: B2", "Acct: C3"])
    pdf = rotate_pages(src, tmp_path / "r.pdf", {2: 90})
    index = index_batch(pdf, TEMPLATE)
    # read as displayed, the region of page 2 holds other text; it may be B2's first page, so it
    # must never be glued to A1 (another customer's bill): it ends A1 and needs a look
    assert summary(index) == [("A1", [1]), ("C3", [3])]
    assert index.unmatched_pages == [2] and not index.clean
    assert [(i.page, i.kind) for i in index.issues] == [(2, "rotated")]
    assert "not attached to any bill" in index.issues[0].message

    # a template drawn on the rotated page as displayed finds the account there
    doc = pdfium.PdfDocument(str(pdf))
    page = doc[1]
    box = PageBox(*page.get_bbox(), rotation=page.get_rotation())
    unrotated = PageBox(*page.get_bbox(), rotation=0)
    (ul, ub, ur, ut) = unrotated.region_to_user(TEMPLATE.region)
    a, b = box.to_display(ul, ub), box.to_display(ur, ut)
    region = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
    doc.close()
    rotated_template = BillTemplate(region, TEMPLATE.pattern)
    index = index_batch(pdf, rotated_template)
    # page 1 has no bill before it; upright page 3 is turned unlike B2's first page: not B2's
    assert summary(index) == [("B2", [2])]
    assert index.unmatched_pages == [1, 3]


def test_upright_continuation_still_joins_and_a_rotated_first_page_ends_the_bill(tmp_path):
    src = make_pdf(tmp_path / "b.pdf", ["Acct: A1", "continued", "Acct: B2", "continued", "Acct: C3", "more"])
    pdf = rotate_pages(src, tmp_path / "r.pdf", {3: 90})
    index = index_batch(pdf, TEMPLATE)
    # page 4 (B2's second page) has no bill before it once page 3 is held back: held too
    assert summary(index) == [("A1", [1, 2]), ("C3", [5, 6])]
    assert index.unmatched_pages == [3, 4]
    assert {(i.page, i.kind) for i in index.issues} == {(3, "rotated"), (4, "no-match")}


@pytest.mark.parametrize("degrees", [90, 180, 270])
def test_a_batch_turned_the_same_way_throughout_groups_as_usual(tmp_path, degrees):
    pages = ["Acct: A1", "continued", "Acct: B2", "Acct: C3", "more"]
    src = make_pdf(tmp_path / "b.pdf", pages)
    pdf = rotate_pages(src, tmp_path / "r.pdf", {n: degrees for n in range(1, len(pages) + 1)})
    doc = pdfium.PdfDocument(str(pdf))
    page = doc[0]
    box = PageBox(*page.get_bbox(), rotation=page.get_rotation())
    (ul, ub, ur, ut) = PageBox(*page.get_bbox(), rotation=0).region_to_user(TEMPLATE.region)
    a, b = box.to_display(ul, ub), box.to_display(ur, ut)
    doc.close()
    region = (min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1]))
    index = index_batch(pdf, BillTemplate(region, TEMPLATE.pattern))  # drawn on the batch as displayed
    assert summary(index) == [("A1", [1, 2]), ("B2", [3]), ("C3", [4, 5])]
    assert index.unmatched_pages == []
    assert {i.kind for i in index.issues} == {"rotated"}  # noted, nothing held


def test_grouping_holds_a_page_turned_unlike_its_bill():
    t = BillTemplate((0, 0, 10, 10), r"Acct:\s*(?P<account>\w+)")
    reads = [PageText(1, "Acct: A1"), PageText(2, "x"), PageText(3, "x", rotation=90),
             PageText(4, "Acct: B2", rotation=90), PageText(5, "y", rotation=90), PageText(6, "z")]
    bills, unmatched, _dups, issues = group_pages(reads, t)
    assert [(b.account, list(b.pages)) for b in bills] == [("A1", [1, 2]), ("B2", [4, 5])]
    assert unmatched == [3, 6]
    assert [(i.page, i.kind) for i in issues] == [(3, "rotated"), (4, "rotated"), (5, "rotated"), (6, "rotated")]
    same = BillTemplate(t.region, t.pattern, continuation="same-account")
    bills, unmatched, _d, _i = group_pages([PageText(1, "Acct: A1"), PageText(2, "Acct: A1", rotation=90)], same)
    assert [(b.account, list(b.pages)) for b in bills] == [("A1", [1, 2])] and unmatched == []


def test_crop_box_offset_is_honoured(tmp_path):
    src = make_pdf(tmp_path / "b.pdf", ["Acct: A1", "Acct: B2"])
    doc = pdfium.PdfDocument(str(src))
    for page in doc:
        page.set_cropbox(20, 0, 612, 772)  # 20 pt cut off the left and the top
    doc.save(str(tmp_path / "c.pdf"))
    doc.close()
    x0, top, x1, bottom = TEMPLATE.region
    shifted = BillTemplate((x0 - 20, top - 20, x1 - 20, bottom - 20), TEMPLATE.pattern)
    assert summary(index_batch(tmp_path / "c.pdf", shifted)) == [("A1", [1]), ("B2", [2])]


@pytest.mark.parametrize("damage, words", [
    (lambda b: b[: len(b) // 2], "truncated"),
    (lambda b: b[: len(b) - 30], "truncated"),
    (lambda b: b"", "empty"),
    (lambda b: b"just some text\n" * 50, "not a PDF"),
    (lambda b: b[:200] + b"\x00" * 300 + b"\n%%EOF\n", "damaged"),
])
def test_corrupt_or_truncated_pdf_gives_a_clear_error(tmp_path, damage, words):
    good = make_pdf(tmp_path / "good.pdf", ["Acct: A1", "Acct: B2"]).read_bytes()
    bad = tmp_path / "batch-0412.pdf"
    bad.write_bytes(damage(good))
    with pytest.raises(BadPdfError) as ei:
        index_batch(bad, TEMPLATE)
    assert isinstance(ei.value, UserFacingError)
    assert "batch-0412.pdf" in str(ei.value) and words in str(ei.value)


def test_missing_file(tmp_path):
    with pytest.raises(BadPdfError, match="does not exist"):
        index_batch(tmp_path / "nope.pdf", TEMPLATE)


def test_progress_and_cancel_in_process(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", [f"Acct: A{i}" for i in range(40)])
    seen = []
    index_batch(pdf, TEMPLATE, progress=lambda d, t, m="": seen.append((d, t)), chunk_size=16)
    assert seen[0] == (0, 40) and seen[-1] == (40, 40)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    cancel = threading.Event()

    def progress(done, total, message=""):
        if done >= 16:
            cancel.set()

    with pytest.raises(Cancelled):
        index_batch(pdf, TEMPLATE, progress=progress, cancel=cancel, chunk_size=16)


def test_generated_sandbox_batch_is_found_completely(tmp_path):
    customers = demo_customers(40)
    pdf = tmp_path / "cycle.pdf"
    build_bill_batch(customers, pdf, seed=3)
    index = index_batch(pdf, resolve_template(None))
    expected, page = [], 1
    for c in customers:
        n = bill_page_count(c, 3)
        expected.append((c.account_number, list(range(page, page + n))))
        page += n
    assert summary(index) == expected
    assert index.pages == page - 1 and index.clean and not index.issues
    assert any(len(p) == 2 for _, p in expected)  # the batch has two-page bills


# ---- the pure grouping ------------------------------------------------------------------------

page_kind = st.sampled_from(["match", "cont", "notext", "error", "cut"])


@given(st.lists(st.tuples(page_kind, st.sampled_from(["A", "B", "C", "D"])), max_size=40),
       st.sampled_from(["no-match", "same-account", "none"]))
def test_grouping_properties(pages, continuation):
    reads = []
    for i, (kind, acc) in enumerate(pages, 1):
        if kind == "match":
            reads.append(PageText(i, text=f"Acct: {acc}"))
        elif kind == "cont":
            reads.append(PageText(i, text="nothing here"))
        elif kind == "notext":
            reads.append(PageText(i, has_text=False))
        elif kind == "cut":
            reads.append(PageText(i, text=f"Acct: {acc}", cut=f"{acc}XYZ"))
        else:
            reads.append(PageText(i, error="bad page"))
    template = BillTemplate(TEMPLATE.region, TEMPLATE.pattern, continuation=continuation)
    bills, unmatched, dups, issues = group_pages(list(reversed(reads)), template)
    placed = sorted([p for b in bills for p in b.pages] + unmatched)
    assert placed == list(range(1, len(pages) + 1))  # every page exactly once
    for b in bills:
        assert list(b.pages) == list(range(b.pages[0], b.pages[0] + len(b.pages)))  # contiguous
        assert pages[b.pages[0] - 1] == ("match", b.account)
        for p in b.pages[1:]:
            kind, acc = pages[p - 1]
            if continuation == "none":
                raise AssertionError("one-page bills only")
            assert kind == "cont" or (continuation == "same-account" and (kind, acc) == ("match", b.account))
    counts = {}
    for b in bills:
        counts[b.account] = counts.get(b.account, 0) + 1
    assert {d.account for d in dups} == {a for a, n in counts.items() if n > 1}
    assert {i.page for i in issues} == set(unmatched)


def test_password_protected_pdf_gives_a_clear_error(tmp_path):
    from fpdf import FPDF

    pdf = FPDF(unit="pt", format="letter")
    pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.add_page()
    pdf.set_font("Helvetica", "", 12)
    pdf.text(60, 60, "Acct: A1")
    path = tmp_path / "locked.pdf"
    pdf.output(str(path))
    with pytest.raises(BadPdfError, match="locked.pdf.*password"):
        index_batch(path, TEMPLATE)


@pytest.mark.parametrize("start, seed, months", [(300, 7, 24), (560, 11, 12)])
def test_sandbox_template_finds_every_bill_of_other_customers_and_seeds(tmp_path, start, seed, months):
    customers = demo_customers(600)[start:start + 30]
    pdf = tmp_path / "cycle.pdf"
    build_bill_batch(customers, pdf, seed=seed, usage_months=months)
    index = index_batch(pdf, resolve_template(None))
    assert [b.account for b in index.bills] == [c.account_number for c in customers]
    assert [len(b.pages) for b in index.bills] == [bill_page_count(c, seed) for c in customers]
    assert index.clean and not index.issues


def test_bill_batch_is_deterministic_for_a_seed(tmp_path):
    customers = demo_customers(5)
    assert build_bill_batch(customers, seed=4) == build_bill_batch(customers, seed=4)
    with pytest.raises(ValueError):
        build_bill_batch(customers, usage_months=6)


def test_a_region_outside_the_page_is_explained(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: A1"])
    far = BillTemplate((700, 40, 800, 70), TEMPLATE.pattern)  # right of a 612 pt wide page
    index = index_batch(pdf, far)
    assert index.unmatched_pages == [1]
    assert "outside this 612 × 792 pt page" in index.issues[0].message


def test_same_account_continuation_for_bills_that_repeat_the_account(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: A1", "Acct: A1", "more", "Acct: B2", "Acct: A1"])
    same = BillTemplate(TEMPLATE.region, TEMPLATE.pattern, continuation="same-account")
    index = index_batch(pdf, same)
    assert summary(index) == [("A1", [1, 2, 3]), ("B2", [4]), ("A1", [5])]
    assert [d.account for d in index.duplicates] == ["A1"]  # not consecutive: still a duplicate
    # with "no-match" the repeated account on page 2 starts a second bill
    assert summary(index_batch(pdf, TEMPLATE))[:2] == [("A1", [1]), ("A1", [2, 3])]


@pytest.mark.parametrize("region", [(50, 40, 120, 70), (110, 40, 300, 70)])  # the number spans x 90-137
def test_an_account_cut_by_the_region_edge_is_reported_not_misread(tmp_path, region):
    # "Acct: 1234567" starts at x=60; a region ending (or starting) inside the number would
    # read a shorter number that a loose pattern accepts: another customer's account
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: 1234567", "continued", "Acct: 7654321"])
    loose = BillTemplate(region, r"(?P<account>\d{2,})")
    index = index_batch(pdf, loose)
    assert index.bills == []  # never a shortened account number
    cut = [i for i in index.issues if i.kind == "cut"]
    assert [i.page for i in cut] == [1, 3]
    assert "1234567" in cut[0].message and "widen the region" in cut[0].message
    assert 2 in index.unmatched_pages  # the page after a cut one is not attached to a guessed bill


def test_a_region_that_holds_the_whole_number_is_not_flagged(tmp_path):
    pdf = make_pdf(tmp_path / "b.pdf", ["Acct: 1234567 Due 12/01"])
    index = index_batch(pdf, BillTemplate((50, 40, 300, 70), r"Acct:\s*(?P<account>\d+)"))
    assert [b.account for b in index.bills] == ["1234567"] and not index.issues


@pytest.fixture(scope="module")
def number_pdf(tmp_path_factory):
    return make_pdf(tmp_path_factory.mktemp("cut") / "n.pdf", ["Acct: 1234567 due 12/01"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x0=st.floats(30, 140), width=st.floats(3, 250), top=st.floats(35, 55), height=st.floats(3, 30))
def test_wherever_the_region_is_drawn_the_account_is_whole_or_not_read(number_pdf, x0, width, top, height):
    index = index_batch(number_pdf, BillTemplate((x0, top, x0 + width, top + height), r"(?P<account>\d+)"))
    assert all(b.account in ("1234567", "12", "01") for b in index.bills)  # whole numbers only
