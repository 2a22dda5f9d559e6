"""Opening and closing the cash drawer: the float, then the count against what the drawer expects.

All work goes through ``ctx.services.drawers`` (console.services.drawer) in ``Operation``s. With
the profile's blind count, the expected figures are shown only after the cashier has counted.
"""

from __future__ import annotations

import html
from decimal import Decimal
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from console.domain.money import format_money
from console.services.drawer import DENOMINATIONS, count_total, parse_money
from console.services.drawer_reports import closeout_document
from console.ui.counter.printing import print_doc
from console.ui.counter.tables import RowsModel, table_view
from console.ui.errors import show_error
from console.ui.operations import Operation


class DenominationGrid(QWidget):
    """One spin box per denomination and the running total."""

    changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        self.boxes: dict[str, QSpinBox] = {}
        for i, denom in enumerate(DENOMINATIONS):
            box = QSpinBox()
            box.setRange(0, 100000)
            box.setAccessibleName(f"Pieces of ${denom}")
            box.valueChanged.connect(lambda _v: self._on_changed())
            self.boxes[denom] = box
            grid.addWidget(QLabel(f"${denom}"), i % 6, (i // 6) * 2)
            grid.addWidget(box, i % 6, (i // 6) * 2 + 1)
        self.total_label = QLabel("")
        grid.addWidget(self.total_label, 6, 0, 1, 4)
        self._on_changed()

    def count(self) -> dict[str, int]:
        return {d: b.value() for d, b in self.boxes.items() if b.value()}

    def total(self) -> Decimal:
        return count_total(self.count())

    def _on_changed(self) -> None:
        self.total_label.setText(f"<b>Total {format_money(self.total())}</b>")
        self.changed.emit()


class MoneyField(QWidget):
    """A total typed in, or (ticked) counted by denomination."""

    changed = Signal()

    def __init__(self, name: str, parent=None):
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setAccessibleName(name)
        self.edit.setPlaceholderText("0.00")
        self.by_denomination = QCheckBox("Count by denomination")
        self.grid = DenominationGrid()
        self.grid.setVisible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.edit)
        lay.addWidget(self.by_denomination)
        lay.addWidget(self.grid)
        self.by_denomination.toggled.connect(self._on_mode)
        self.edit.textChanged.connect(lambda _t: self.changed.emit())
        self.grid.changed.connect(self.changed.emit)

    def _on_mode(self, on: bool) -> None:
        self.grid.setVisible(on)
        self.edit.setEnabled(not on)
        self.changed.emit()

    def value(self) -> tuple[str | None, dict[str, int]]:
        """(total text or None, count by denomination or {})."""
        if self.by_denomination.isChecked():
            return None, self.grid.count()
        return self.edit.text().strip(), {}

    def amount(self) -> Decimal | None:
        total, count = self.value()
        if count or total is None:
            return self.grid.total()
        try:
            return parse_money(total, "amount") if total else None
        except Exception:  # noqa: BLE001 - still typing
            return None


class OpenDrawerDialog(QDialog):
    """Count the float in; the drawer opens for this operator on this workstation."""

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session = None
        self.setWindowTitle("Open the cash drawer")
        self.float_field = MoneyField("Starting float")
        form = QFormLayout()
        form.addRow("Starting float", self.float_field)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.open_button = self.buttons.addButton("Open drawer", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self.open_drawer)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"Cashier: <b>{html.escape(ctx.operator_id or '-')}</b> on "
                             f"<b>{html.escape(ctx.services.drawers.workstation)}</b>"))
        lay.addLayout(form)
        lay.addWidget(self.buttons)

    def open_drawer(self) -> Operation:
        total, count = self.float_field.value()
        drawers, operator = self.ctx.services.drawers, self.ctx.operator_id
        self.open_button.setEnabled(False)

        def opened(session) -> None:
            self.session = session
            self.accept()

        def failed(exc: BaseException) -> None:
            self.open_button.setEnabled(True)
            show_error(self, exc)

        op = Operation(self, lambda op: drawers.open_drawer(operator, total, float_count=count),
                       label="Opening the drawer…")
        op.success(opened).failure(failed).run()
        return op


class CloseDrawerDialog(QDialog):
    """Count the cash and tick off the checks; see expected against counted; close and print."""

    closed = Signal(object)

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.figures = None
        self.closeout = None
        self.revealed = not ctx.services.drawers.blind()
        self.setWindowTitle("Close out the cash drawer")
        self.resize(900, 640)
        self._build()
        self.load()

    def _build(self) -> None:
        self.session_label = QLabel("Reading the drawer…")
        self.cash_field = MoneyField("Cash counted")
        self.checks_edit = QLineEdit()
        self.checks_edit.setAccessibleName("Checks counted")
        self.checks_edit.setPlaceholderText("0.00")
        self.checks_list = QListWidget()
        self.checks_list.setAccessibleName("Checks to tick off")
        self.checks_list.itemChanged.connect(lambda _i: self._update())
        self.reason_edit = QLineEdit()
        self.reason_edit.setAccessibleName("Reason for over or short")
        self.supervisor_edit = QLineEdit()
        self.supervisor_edit.setAccessibleName("Supervisor ID")
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setAccessibleName("Supervisor PIN")
        count = QFormLayout()
        count.addRow("Cash counted", self.cash_field)
        count.addRow("Checks counted", self.checks_edit)
        count.addRow("Tick off each check", self.checks_list)
        count.addRow("Reason (over / short)", self.reason_edit)
        sup = QHBoxLayout()
        sup.addWidget(self.supervisor_edit)
        sup.addWidget(self.pin_edit)
        count.addRow("Supervisor ID / PIN", sup)
        self.expected_model = RowsModel(["Tender", "Expected", "Counted", "Over / short"])
        self.expected_view = table_view(self.expected_model, "Expected and counted", stretch=0)
        self.reveal_button = QPushButton("Compare with expected")
        self.reveal_button.clicked.connect(self.reveal)
        self.status_label = QLabel("")
        self.status_label.setWordWrap(True)
        right = QVBoxLayout()
        right.addWidget(QLabel("<b>Expected and counted</b>"))
        right.addWidget(self.expected_view, 1)
        right.addWidget(self.reveal_button)
        right.addWidget(self.status_label)
        body = QHBoxLayout()
        body.addLayout(count, 3)
        body.addLayout(right, 2)
        self.close_button = QPushButton("Close drawer")
        self.close_button.setDefault(True)
        self.close_button.clicked.connect(self.close_drawer)
        self.print_button = QPushButton("Print…")
        self.print_button.clicked.connect(self.print_report)
        self.pdf_button = QPushButton("Save PDF…")
        self.pdf_button.clicked.connect(lambda: self.save_pdf())
        done = QPushButton("Done")
        done.clicked.connect(self.accept)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for b in (self.close_button, self.print_button, self.pdf_button, done):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.addWidget(self.session_label)
        lay.addLayout(body, 1)
        lay.addLayout(buttons)
        self.cash_field.changed.connect(self._update)
        self.checks_edit.textChanged.connect(lambda _t: self._update())
        self._update()

    # ------------------------------------------------------------------ reading
    def load(self) -> Operation:
        drawers, counter, operator = self.ctx.services.drawers, self.ctx.services.counter, self.ctx.operator_id

        def work(op):
            session = drawers.current(operator)
            return None if session is None else drawers.figures(session, counter)

        op = Operation(self, work, label="Reading the drawer…")
        op.success(self._on_figures).failure(lambda exc: show_error(self, exc)).run()
        return op

    def _on_figures(self, figures) -> None:
        self.figures = figures
        if figures is None:
            self.session_label.setText("No drawer is open for you on this workstation.")
            self._update()
            return
        s = figures.session
        self.session_label.setText(f"Drawer <b>{html.escape(s.session_id)}</b> of {html.escape(s.operator)} on "
                                   f"{html.escape(s.workstation)} · float {format_money(s.float_total)}"
                                   + (" · <b>blind count</b>: count first" if not self.revealed else ""))
        self.checks_list.clear()
        for p in figures.checks:
            item = QListWidgetItem(f"Check {p.check_number} · {p.account_number} · {p.name} · "
                                   f"{format_money(p.amount)}")
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.checks_list.addItem(item)
        self._update()

    # ------------------------------------------------------------------ state
    def ticked(self) -> int:
        return sum(self.checks_list.item(i).checkState() == Qt.CheckState.Checked
                   for i in range(self.checks_list.count()))

    def counted_checks(self) -> Decimal | None:
        text = self.checks_edit.text().strip()
        try:
            return parse_money(text, "checks") if text else None
        except Exception:  # noqa: BLE001 - still typing
            return None

    def reveal(self) -> None:
        if self.cash_field.amount() is None or self.counted_checks() is None:
            self.status_label.setText("Count the cash and the checks first.")
            return
        self.revealed = True
        self._update()

    def _update(self) -> None:
        fig = self.figures
        self.reveal_button.setVisible(not self.revealed)
        self.close_button.setEnabled(fig is not None and self.closeout is None)
        self.print_button.setEnabled(self.closeout is not None)
        self.pdf_button.setEnabled(self.closeout is not None)
        if fig is None or not self.revealed:
            self.expected_model.set_rows([])
            return
        cash, checks = self.cash_field.amount(), self.counted_checks()
        rows = []
        for label, expected, counted in (("Cash", fig.expected_cash, cash), ("Checks", fig.expected_checks, checks),
                                         ("Cards", fig.expected_cards, None)):
            diff = "" if counted is None else format_money(counted - expected)
            rows.append([label, format_money(expected), "" if counted is None else format_money(counted), diff])
        self.expected_model.set_rows(rows)

    # ------------------------------------------------------------------ closing
    def close_drawer(self) -> Operation | None:
        if self.figures is None:
            return None
        total, count = self.cash_field.value()
        kwargs = {"cash": total, "cash_count": count, "checks": self.checks_edit.text().strip() or "0",
                  "checks_count": self.ticked(), "reason": self.reason_edit.text(),
                  "supervisor_id": self.supervisor_edit.text().strip(), "supervisor_pin": self.pin_edit.text()}
        drawers, counter, operator = self.ctx.services.drawers, self.ctx.services.counter, self.ctx.operator_id
        self.close_button.setEnabled(False)

        def failed(exc: BaseException) -> None:
            self.pin_edit.clear()
            self._update()
            show_error(self, exc)

        op = Operation(self, lambda op: drawers.close_drawer(operator, counter, **kwargs), label="Closing the drawer…")
        op.success(self._on_closed).failure(failed).run()
        return op

    def _on_closed(self, out) -> None:
        self.closeout = out
        self.revealed = True
        self.pin_edit.clear()
        color = {"balanced": "#15803d", "over": "#b45309", "short": "#b91c1c"}[out.status]
        self.status_label.setText(
            f"<span style='font-size:14pt; color:{color}'><b>Closed — {out.status.upper()}</b></span><br>"
            f"Cash {format_money(out.over_short['cash'])} · checks {format_money(out.over_short['checks'])}. "
            f"Sealed in the audit log (row {out.audit_seq}).")
        self._update()
        self.closed.emit(out)

    def document(self):
        op = self.ctx.services.profile.operator(self.closeout.operator)
        return closeout_document(self.closeout, operator_name=op.name if op else "", training=self.ctx.training)

    def print_report(self) -> bool:
        return self.closeout is not None and print_doc(self, self.document())

    def save_pdf(self, path: Path | None = None) -> Operation | None:
        if self.closeout is None:
            return None
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Save the close-out report",
                                                    f"closeout-{self.closeout.session_id.replace(':', '-')}.pdf",
                                                    "PDF (*.pdf)")
            if not chosen:
                return None
            path = Path(chosen)
        from console.services.cash_pdf import write_pdf

        doc = self.document()
        op = Operation(self, lambda op: write_pdf(doc, path), label="Saving the close-out report…")
        op.success(lambda p: self.status_label.setText(self.status_label.text() + f"<br>Saved {html.escape(str(p))}"))
        op.failure(lambda exc: show_error(self, exc)).run()
        return op
