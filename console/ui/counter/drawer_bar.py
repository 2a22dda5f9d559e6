"""The Counter tab's drawer strip: whose drawer is open since when with which float, and the
buttons to open it, close it out and write the day's deposit slip. A supervisor also sees how
many drawers of the office are open."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from console.domain.money import format_money
from console.domain.wording import counted
from console.ui.counter.drawer_dialogs import CloseDrawerDialog, OpenDrawerDialog
from console.ui.counter.questions import ask_confirmation
from console.ui.errors import show_error
from console.ui.operations import Operation


class DrawerBar(QWidget):
    changed = Signal()

    def __init__(self, ctx, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.session = None
        self.office: list = []
        self.label = QLabel("Cash drawer: …")
        self.label.setObjectName("drawer-state")
        self.open_button = QPushButton("Open drawer…")
        self.open_button.clicked.connect(lambda: self.open_dialog())
        self.close_button = QPushButton("Close out…")
        self.close_button.clicked.connect(lambda: self.close_dialog())
        self.split_button = QPushButton("Split / several accounts…")
        self.split_button.setToolTip("One payment by cash, checks and a card, for one or more accounts")
        self.split_button.clicked.connect(lambda: self.split_dialog())
        self.account_source = lambda: ""  # the Counter tab's open account
        self.card_source = None  # hands over the card read the Counter tab holds
        self.slip_button = QPushButton("Deposit slip…")
        self.slip_button.clicked.connect(lambda: self.save_slip())
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.label, 1)
        for b in (self.split_button, self.open_button, self.close_button, self.slip_button):
            lay.addWidget(b)
        self.dialog = None
        self.refresh()

    def refresh(self) -> Operation:
        drawers, operator = self.ctx.services.drawers, self.ctx.operator_id

        def work(op):
            return drawers.current(operator), drawers.open_drawers(operator) if operator else []

        op = Operation(self, work, label="Reading the cash drawer…")
        op.success(self._show).failure(lambda exc: self.label.setText(f"Cash drawer: {html.escape(str(exc))}")).run()
        return op

    def _show(self, found) -> None:
        self.session, self.office = found
        if self.session is None:
            text = "<b>No cash drawer open</b> — cash and checks need one"
        else:
            s = self.session
            text = (f"<b>Drawer open</b> since {s.opened_at[11:16]} · float {format_money(s.float_total)} · "
                    f"{html.escape(s.workstation)}")
        others = [s for s in self.office if s.operator != self.ctx.operator_id]
        if others:
            text += f" · {counted(len(others), 'other drawer')} open in the office"
            self.label.setToolTip("\n".join(f"{s.operator} on {s.workstation} since {s.opened_at[:16]}"
                                            for s in others))
        self.label.setText(text)
        self.open_button.setEnabled(self.session is None)
        self.close_button.setEnabled(self.session is not None)
        self.changed.emit()

    def open_dialog(self) -> OpenDrawerDialog:
        self.dialog = OpenDrawerDialog(self.ctx, self)
        self.dialog.finished.connect(lambda _r: self.refresh())
        self.dialog.open()
        return self.dialog

    def close_dialog(self) -> CloseDrawerDialog:
        self.dialog = CloseDrawerDialog(self.ctx, self)
        self.dialog.closed.connect(lambda _out: self.refresh())
        self.dialog.open()
        return self.dialog

    def split_dialog(self):
        from console.ui.counter.split_dialog import SplitTenderDialog

        self.dialog = SplitTenderDialog(self.ctx, self, account=self.account_source(), card_source=self.card_source)
        self.dialog.open()
        return self.dialog

    def offer_open(self, exc: BaseException) -> bool:
        """Cash or a check without an open drawer: say so and offer to open one."""
        if ask_confirmation(self, "No cash drawer open", f"{exc}\n\nOpen your drawer now?"):
            self.open_dialog()
            return True
        return False

    def save_slip(self, path: Path | None = None) -> Operation | None:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(self, "Save the deposit slip", "deposit-slip.pdf", "PDF (*.pdf)")
            if not chosen:
                return None
            path = Path(chosen)
        services, operator = self.ctx.services, self.ctx.operator_id

        def work(op):
            from console.services.cash_pdf import write_pdf
            from console.services.drawer_reports import deposit_slip

            services.operators.require(operator, "take_payment")
            slip = deposit_slip(services.drawers, services.counter, services.drawers.today())
            write_pdf(slip.document(training=services.profile.training), path)
            slip.to_csv(path.with_suffix(".csv"))
            return slip

        op = Operation(self, work, label="Writing the deposit slip…")
        op.success(lambda slip: self.ctx.status(f"Deposit slip saved: cash {format_money(slip.cash_total)}, "
                                                f"checks {format_money(slip.checks_total)} → {path}"))
        op.failure(lambda exc: show_error(self, exc)).run()
        return op
