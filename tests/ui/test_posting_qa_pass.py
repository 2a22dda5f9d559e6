"""Posting tab, found in a QA pass under Xvfb as a billing clerk would use it:
- a file with errors replaced nothing on screen: the previous file's preview and its enabled
  'Finish posting' stayed under the new file's error, and the errors were gone with the dialog;
- the run summary read 'Posted: 185 posted, 9 void not posted. Cancelled — Post again to finish.. 89 …';
- after everything was posted 'Finish posting' stayed enabled and did nothing;
- the same file opened again said every row was 'already journaled from another file'."""

from __future__ import annotations

from collections import Counter

from console.errors import Problem, ValidationError
from console.sandbox import exports
from console.services.posting import RunResult
from console.ui.posting_models import not_loaded_text, run_summary
from tests.ui.test_posting_tab import _cleanup, _wait, make_tab  # noqa: F401 - fixtures


def test_a_file_with_errors_clears_the_previous_preview_and_lists_its_errors(qtbot, make_tab, tmp_path):  # noqa: F811
    tab = make_tab()
    good = tmp_path / "good.csv"
    exports.write_export("payments", good, 30, 3, receipts_only=True)
    _wait(qtbot, tab.load_file(good, "payments"))
    assert tab.post_button.isEnabled() and tab.preview.model.rowCount() == 30
    bad = tmp_path / "bad.csv"
    lines = good.read_text().splitlines()
    fields = lines[4].split(",")
    fields[8] = fields[8] + "x"  # Amount
    lines[4] = ",".join(fields)
    bad.write_text("\n".join(lines) + "\n")
    _wait(qtbot, tab.load_file(bad, "payments"))
    assert tab.errors and isinstance(tab.errors[-1], ValidationError)
    assert tab.plan is None and tab.preview.model.rowCount() == 0
    assert not tab.post_button.isEnabled() and tab.override_button.isHidden()
    text = tab.banner.text()
    assert text.startswith("bad.csv has ") and "nothing was imported" in text
    assert "line 5" in text and "column Amount" in text and "[amount]" in text
    assert "good.csv" not in text
    assert not tab.fake.receipts


def test_not_loaded_text_names_line_column_rule_and_caps_the_list():
    exc = ValidationError("x has 7 errors", [Problem(i + 2, "Amount", "amount", f"bad {i}") for i in range(7)])
    text = not_loaded_text("x.csv", exc)
    assert text.splitlines()[0] == ("x.csv has 7 errors: nothing was imported or posted. Fix the file and open "
                                    "it again.")
    assert "• line 2, column Amount: bad 0 [amount]" in text and "… and 2 more." in text
    assert not_loaded_text("y.csv", ValueError("boom")) == "y.csv was not imported: it could not be read. " \
                                                         "Nothing was posted."


def test_run_summary_reads_as_a_sentence():
    r = RunResult(outcomes=Counter({"posted": 185, "void_not_posted": 9}), cancelled=True, remaining=89)
    text = run_summary(r)
    assert text == ("Posted: 185 receipts posted · 9 voids of payments never posted (reported, nothing to undo). "
                    "Cancelled — 89 still to post: press Finish posting to continue (nothing is sent twice).")
    assert ".." not in text
    assert run_summary(RunResult()) == "Posted: nothing was left to post."


def test_after_everything_is_posted_the_button_says_so(qtbot, make_tab, tmp_path):  # noqa: F811
    tab = make_tab()
    f = tmp_path / "p.csv"
    exports.write_export("payments", f, 40, 5, receipts_only=True)
    _wait(qtbot, tab.load_file(f, "payments"))
    _wait(qtbot, tab.post())
    assert tab.last_run.complete
    assert tab.post_button.text() == "All posted" and not tab.post_button.isEnabled()
    # the same file again: rows say they were imported before (not "from another file")
    _wait(qtbot, tab.load_file(f, "payments"))
    details = {r.detail for r in tab.plan.rows}
    assert details == {"already in the journal (imported before)"}
    assert tab.post_button.isEnabled() and tab.post_button.text() == "Finish posting"


def test_run_summary_counts_one_in_the_singular():
    r = RunResult(outcomes=Counter({"posted": 114, "void_not_posted": 1}))
    assert run_summary(r) == ("Posted: 114 receipts posted · 1 void of a payment never posted (reported, nothing to "
                              "undo).")
    assert run_summary(RunResult(outcomes=Counter({"posted": 1}))) == "Posted: 1 receipt posted."


def test_failed_page_lists_only_what_posting_can_retry(qtbot, make_tab, tmp_path):  # noqa: F811
    """A card the gateway declined at the counter showed under Failed as 'card_auth … Do not honor' with
    'Retry selected' (it cannot be retried: the card read is gone; the counter shows it)."""
    from console.adapters.journal import REJECTED, NewEntry, lease_owner_id

    tab = make_tab()
    j = tab.ctx.services.journal
    j.add_entry(NewEntry("ctr:20261126:DECLINED", "card_auth", {"account": "100001-01", "amount": "20.01"}),
                operator="cashier1")
    owner = lease_owner_id()
    assert j.claim(owner, ["card_auth"], keys=["ctr:20261126:DECLINED"], lease_s=60)
    j.finish("ctr:20261126:DECLINED", owner, REJECTED, outcome="declined", detail="Do not honor")
    f = tmp_path / "p.csv"
    exports.write_export("payments", f, 20, 4, receipts_only=True)
    lines = f.read_text().splitlines()
    fields = lines[1].split(",")
    fields[2] = "999999-01"  # Caselle has no such account: a real posting failure
    lines[1] = ",".join(fields)
    f.write_text("\n".join(lines) + "\n")
    _wait(qtbot, tab.load_file(f, "payments"))
    _wait(qtbot, tab.post())
    _wait(qtbot, tab.refresh())
    keys = [r.key for r in tab.failed.model.rows]
    assert tab.plan.rows[0].key in keys and "ctr:20261126:DECLINED" not in keys
    assert tab.pages.tabText(2) == f"Failed ({len(keys)})"


def test_key_and_how_it_applies_are_not_cut_off(qtbot):
    from decimal import Decimal

    from console.services.posting import PlanRow
    from console.ui.posting_models import PostingRowsModel
    from console.ui.tabs.posting_tab import _RowsPanel

    panel = _RowsPanel()
    qtbot.addWidget(panel)
    panel.resize(1200, 400)
    rows = [PlanRow(i + 2, f"reject:P0000100{i:04d}", "ach_reject", "reverse (R04) + NSF fee", "100686-01",
                    Decimal("151.04"), "ACH", "") for i in range(50)]
    panel.set_rows(rows)
    header = panel.view.horizontalHeader()
    fm = panel.view.fontMetrics()
    assert header.sectionSize(PostingRowsModel.KEY) >= fm.horizontalAdvance("reject:P00001000049")
    assert header.sectionSize(PostingRowsModel.ACTION) >= fm.horizontalAdvance("reverse (R04) + NSF fee")


def test_change_log_totals_show_counts_not_dollars():
    from console.services.posting import PlanRow
    from console.ui.posting_models import PostingRowsModel, totals_text

    model = PostingRowsModel()
    model.set_rows([PlanRow(2, "change:1", "change", "set PHONE = x", "100001-01", None, "", "", "done"),
                    PlanRow(3, "change:2", "change", "set EMAIL = y", "100002-01", None, "", "", "reported")])
    assert totals_text(model) == "All: Done 1, Reported 1"


def test_end_of_day_date_reads_like_the_report(qtbot, make_tab):  # noqa: F811
    from PySide6.QtCore import QDate

    tab = make_tab()
    tab.report_date.setDate(QDate(2026, 11, 26))
    assert tab.report_date.text() == "11/26/2026"
