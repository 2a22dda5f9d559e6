"""Day Close: every channel of a day side by side, for supervisors and clerks.

Drawer close-outs, the counter by tender, Invoice Cloud files (the reconciliation report, as
tables), lockbox files sent, account-sync updates and Caselle's batch totals; the expected bank
deposit per bank account; each variance with the entries behind it (select a variance: its
journal keys and drawer sessions show beside it). "Close the day" (supervisors) seals it in the
audit log; the summary prints through the Qt print dialog or saves as PDF; the Invoice Cloud
reconciliation exports as CSV. Reads ``ctx.services.day_close`` in ``Operation``s.
"""

from __future__ import annotations

import datetime as dt
import html
from pathlib import Path

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QDateEdit,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from console.domain.money import format_money
from console.domain.wording import counted
from console.services import reconciliation as recon
from console.services.day_close import COUNTER_TENDERS, summary_document
from console.ui.counter.printing import print_doc
from console.ui.counter.questions import ask_confirmation
from console.ui.counter.tables import RowRole, RowsModel, table_view
from console.ui.errors import show_error
from console.ui.operations import Operation


class DayCloseView(QWidget):
    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.report = None
        self._build()
        self.refresh()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.date_edit = QDateEdit(QDate.currentDate())
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("MM/dd/yyyy")
        self.date_edit.setAccessibleName("Day")
        self.date_edit.dateChanged.connect(lambda _d: self.refresh())
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda: self.refresh())
        self.close_button = QPushButton("Close the day…")
        self.close_button.setToolTip("Seal the day's figures in the audit log (supervisors)")
        self.close_button.clicked.connect(lambda: self.close_day())
        self.print_button = QPushButton("Print…")
        self.print_button.clicked.connect(self.print_summary)
        self.pdf_button = QPushButton("Save PDF…")
        self.pdf_button.clicked.connect(lambda: self.save_pdf())
        self.return_button = QPushButton("Returned check / refund…")
        self.return_button.setToolTip("Reverse a bounced counter check, or refund a settled card charge (supervisors)")
        self.return_button.clicked.connect(lambda: self.return_check())
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(lambda: self.export_csv())
        self.state_label = QLabel("")
        self.state_label.setObjectName("day-close-state")
        top = QHBoxLayout()
        top.addWidget(QLabel("<b>Day</b>"))
        top.addWidget(self.date_edit)
        top.addWidget(self.refresh_button)
        top.addWidget(self.state_label, 1)
        for b in (self.return_button, self.csv_button, self.pdf_button, self.print_button, self.close_button):
            top.addWidget(b)
        self.drawers = RowsModel(["Session", "Cashier", "Cash expected", "Cash counted", "Checks expected",
                                  "Checks counted", "Cards", "Status", "Reason"], right_from=2, text_columns=(7, 8))
        self.channels = RowsModel(["Channel", "Count", "Amount"])
        self.ic_tenders = RowsModel(["Tender"] + [recon.METRIC_LABELS[m] for m in recon.METRICS])
        self.deposits = RowsModel(["Bank account", "Counter cash", "Counter checks", "Returned checks",
                                   "Invoice Cloud", "Total"])
        self.variances = RowsModel(["Channel", "Tender", "Amount", "Explanation"], right_from=2, text_columns=(3,))
        self.drawers_view = table_view(self.drawers, "Drawer close-outs", stretch=8)
        self.channels_view = table_view(self.channels, "Channels", stretch=0)
        self.ic_view = table_view(self.ic_tenders, "Invoice Cloud by tender")
        self.deposits_view = table_view(self.deposits, "Expected bank deposit", stretch=0)
        self.variances_view = table_view(self.variances, "Variances", stretch=3)
        self.variances_view.selectionModel().selectionChanged.connect(lambda *_: self._show_entries())
        self.entries = QListWidget()
        self.entries.setAccessibleName("Entries behind the variance")
        grid = QGridLayout()
        grid.addWidget(self._titled("Drawer close-outs", self.drawers_view), 0, 0, 1, 2)
        grid.addWidget(self._titled("Channels", self.channels_view), 1, 0)
        grid.addWidget(self._titled("Invoice Cloud files (end-of-day reconciliation) by tender and batch",
                                    self.ic_view), 1, 1)
        grid.addWidget(self._titled("Expected bank deposit", self.deposits_view), 2, 0)
        vsplit = QSplitter(Qt.Orientation.Horizontal)
        vsplit.addWidget(self._titled("Variances (select one: the entries behind it)", self.variances_view))
        vsplit.addWidget(self._titled("Entries", self.entries))
        vsplit.setStretchFactor(0, 3)
        vsplit.setStretchFactor(1, 1)
        grid.addWidget(vsplit, 2, 1)
        grid.setRowStretch(0, 2)
        grid.setRowStretch(1, 3)
        grid.setRowStretch(2, 2)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addLayout(grid, 1)
        self._update_buttons()

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(QLabel(f"<b>{html.escape(title)}</b>"))
        lay.addWidget(widget, 1)
        return box

    # ------------------------------------------------------------------ reading
    @property
    def day(self) -> dt.date:
        d = self.date_edit.date()
        return dt.date(d.year(), d.month(), d.day())

    def refresh(self) -> Operation | None:
        svc, viewer, day = self.ctx.services.day_close, self.ctx.operator_id, self.day
        if viewer and not self.ctx.services.operators.can(viewer, "view_day_close"):
            self.state_label.setText("The Day Close is for clerks and supervisors.")
            return None
        self.state_label.setText("Reading the day…")
        op = Operation(self, lambda op: svc.report(day, viewer=viewer or None), label=f"Day close {day:%m/%d}…")
        op.success(self._show).failure(self._failed).run()
        return op

    def _failed(self, exc: BaseException) -> None:
        self.state_label.setText(html.escape(str(exc)))
        show_error(self, exc)

    def _show(self, rep) -> None:
        self.report = rep
        self.drawers.set_rows([[c.session_id, c.operator, format_money(c.expected["cash"]),
                                format_money(c.counted["cash"]), format_money(c.expected["checks"]),
                                format_money(c.counted["checks"]), format_money(c.expected["cards"]), c.status,
                                c.reason] for c in rep.closeouts]
                              + [[s.session_id, s.operator, "", "", "", "", "", "OPEN", ""] for s in rep.open_drawers])
        self.channels.set_rows(self._channel_rows(rep))
        groups = [("All", rep.ic.total), *rep.ic.by_tender.items(),
                  *((f"Batch {k}", t) for k, t in rep.ic.by_batch.items())]
        self.ic_tenders.set_rows([[name] + [f"{t.counts[m]} · {format_money(t.amounts[m])}" if t.counts[m] else "-"
                                            for m in recon.METRICS] for name, t in groups])
        self.deposits.set_rows([[a, format_money(d["counter_cash"]), format_money(d["counter_checks"]),
                                 format_money(d["returned_checks"]), format_money(d["ic_settlement"]),
                                 format_money(sum(d.values()))]
                                for a, d in rep.deposits.items()])
        self.variances.set_rows([[v.channel, v.tender, format_money(v.amount), v.explanation] for v in rep.variances],
                                rep.variances)
        self.entries.clear()
        if rep.sealed:
            state = (f"<b style='color:#15803d'>Closed</b> by {html.escape(rep.sealed['operator'])} at "
                     f"{html.escape(rep.sealed['at'][:16].replace('T', ' '))} (audit row {rep.sealed['seq']})")
        else:
            state = "<b style='color:#b45309'>Open</b> — not sealed yet"
        self.state_label.setText(f"{state} · expected deposit {format_money(rep.deposit_total)} · "
                                 f"{counted(len(rep.variances), 'variance')}")
        self._update_buttons()

    @staticmethod
    def _channel_rows(rep) -> list[list[str]]:
        rows = [[f"Counter {t.lower()} (voided {format_money(rep.counter[t]['voided'])})", str(rep.counter_count[t]),
                 format_money(rep.counter[t]["net"])] for t in COUNTER_TENDERS]
        t = rep.ic.total
        rows += [[f"Invoice Cloud {recon.METRIC_LABELS[m].lower()}", str(t.counts[m]), format_money(t.amounts[m])]
                 for m in ("posted", "rejected", "pending", "voided", "reversed")]
        rows.append(["Lockbox files sent", str(len(rep.lockbox_sent)), ""])
        rows.append(["Account-sync balance updates", str(sum(rep.account_sync.values())), ""])
        rows += [[f"Caselle batch {b.batch_id} ({b.status.lower()})", "", format_money(b.caselle_total)]
                 for b in rep.batches]
        return rows

    def _show_entries(self) -> None:
        self.entries.clear()
        rows = self.variances_view.selectionModel().selectedRows()
        if rows:
            v = self.variances.data(rows[0], RowRole)
            self.entries.addItems(list(v.entries) or ["(no single entry: see the channel's totals)"])

    def _update_buttons(self) -> None:
        ops = self.ctx.services.operators
        may_close = bool(self.ctx.operator_id) and ops.can(self.ctx.operator_id, "day_close")
        has = self.report is not None
        self.close_button.setVisible(may_close)
        self.return_button.setVisible(bool(self.ctx.operator_id) and ops.can(self.ctx.operator_id, "reverse_payment"))
        self.close_button.setEnabled(has and not self.report.sealed)
        for b in (self.print_button, self.pdf_button, self.csv_button):
            b.setEnabled(has)

    # ------------------------------------------------------------------ acting
    def close_day(self, *, confirm: bool = True) -> Operation | None:
        day = self.day
        if confirm and not ask_confirmation(self, "Close the day",
                                            f"Seal the figures of {day:%m/%d/%Y} in the audit log? This is done once."):
            return None
        svc, operator = self.ctx.services.day_close, self.ctx.operator_id
        self.close_button.setEnabled(False)
        op = Operation(self, lambda op: svc.close_day(operator, day), label=f"Closing {day:%m/%d}…")
        op.success(self._on_closed).failure(self._on_close_failed).run()
        return op

    def return_check(self):
        from console.ui.counter.return_check_dialog import ReturnCheckDialog

        dialog = ReturnCheckDialog(self.ctx, self)
        dialog.finished.connect(lambda _r: self.refresh())
        dialog.open()
        return dialog

    def _on_closed(self, rep) -> None:
        self._show(rep)
        self.ctx.status(f"Day {rep.day:%m/%d/%Y} closed and sealed (audit row {rep.sealed['seq']}).")

    def _on_close_failed(self, exc: BaseException) -> None:
        self._update_buttons()
        show_error(self, exc)

    def document(self):
        return summary_document(self.report, training=self.ctx.training)

    def print_summary(self) -> bool:
        return self.report is not None and print_doc(self, self.document())

    def save_pdf(self, path: Path | None = None) -> Operation | None:
        if self.report is None:
            return None
        path = path or self._ask_path("Save the day summary", f"day-close-{self.day}.pdf", "PDF (*.pdf)")
        if path is None:
            return None
        from console.services.cash_pdf import write_pdf

        doc, rep, training = self.document(), self.report, self.ctx.training

        def work(op):
            recon.to_pdf(rep.ic, path.with_name(path.stem + "-reconciliation.pdf"), training=training)
            return write_pdf(doc, path)

        op = Operation(self, work, label="Saving the day summary…")
        op.success(lambda p: self.ctx.status(f"Saved {p}")).failure(lambda exc: show_error(self, exc)).run()
        return op

    def export_csv(self, path: Path | None = None) -> Operation | None:
        if self.report is None:
            return None
        path = path or self._ask_path("Export the day as CSV", f"day-close-{self.day}.csv", "CSV (*.csv)")
        if path is None:
            return None
        rep = self.report
        op = Operation(self, lambda op: _write_csv(rep, path), label="Exporting the day…")
        op.success(lambda p: self.ctx.status(f"Saved {p}")).failure(lambda exc: show_error(self, exc)).run()
        return op

    def _ask_path(self, title: str, name: str, kind: str) -> Path | None:
        chosen, _ = QFileDialog.getSaveFileName(self, title, name, kind)
        return Path(chosen) if chosen else None


def _write_csv(rep, path: Path) -> Path:
    """The day's tables (drawers, deposit, variances) followed by the Invoice Cloud reconciliation."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["Section", "Name", "Tender", "Expected", "Counted", "OverShort", "Detail"])
    for c in rep.closeouts:
        for k in ("cash", "checks"):
            w.writerow(["drawer", c.session_id, k, str(c.expected[k]), str(c.counted[k]), str(c.over_short[k]),
                        c.reason])
    for account, d in rep.deposits.items():
        for k, v in d.items():
            w.writerow(["deposit", account, k, str(v), "", "", ""])
    for v in rep.variances:
        w.writerow(["variance", v.channel, v.tender, str(v.amount), "", "", f"{v.explanation} [{' '.join(v.entries)}]"])
    w.writerow([])
    text = buf.getvalue() + recon.to_csv(rep.ic)
    Path(path).write_text(text, encoding="utf-8", newline="")
    return Path(path)
