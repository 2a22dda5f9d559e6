"""Widgets of the Counter Payments tab: the account panel and the card-reader box. Layout only."""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.domain.bif import BifRules
from console.domain.money import format_money
from console.services.counter import AccountView
from console.ui.counter_usage_chart import UsageChart


def _date(d) -> str:
    return d.strftime("%m/%d/%Y") if d else "—"


def _yes(v: bool) -> str:
    return "Yes" if v else "No"


class _Figure(QFrame):
    """A caption over a big value (balance, amount due …)."""

    def __init__(self, caption: str, parent=None):
        super().__init__(parent)
        self.setObjectName("figure")
        self.caption = QLabel(caption)
        self.caption.setStyleSheet("color: #4b5563;")
        self.value = QLabel("—")
        f = self.value.font()
        f.setPointSizeF(f.pointSizeF() * 1.45)
        f.setBold(True)
        self.value.setFont(f)
        self.value.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(0)
        layout.addWidget(self.caption)
        layout.addWidget(self.value)
        self.setStyleSheet("#figure { background: #f9fafb; border: 1px solid #e5e7eb; border-radius: 6px; }")

    def set(self, text: str, color: str = "#111827") -> None:
        self.value.setText(text)
        self.value.setStyleSheet(f"color: {color};")


@dataclass(frozen=True)
class PanelOptions:
    """What the biller offers (Settings → Biller options / Invoice file options / Invoice Cloud)."""

    autopay_offered: bool = True
    paperless_offered: bool = True
    usage_graphs: bool = True  # Invoice Cloud Advance Setting #109
    virtual_site: str = ""
    bif: BifRules = BifRules()

    @classmethod
    def from_profile(cls, profile) -> PanelOptions:
        return cls(bool(profile.get("biller_autopay")), bool(profile.get("biller_paperless")),
                   bool(profile.get("biller_usage_graphs")), str(profile.get("invoicecloud_virtual_site") or ""),
                   BifRules.from_profile(profile))


class AccountPanel(QWidget):
    """Everything the cashier needs to know about the account before taking money."""

    def __init__(self, parent=None, options: PanelOptions | None = None):
        super().__init__(parent)
        self.options = options or PanelOptions()
        self.view: AccountView | None = None
        self.title = QLabel("No account selected")
        f = self.title.font()
        f.setPointSizeF(f.pointSizeF() * 1.5)
        f.setBold(True)
        self.title.setFont(f)
        self.subtitle = QLabel("Find the customer's account: account number, name, address or phone (F2).")
        self.subtitle.setStyleSheet("color: #4b5563;")
        self.subtitle.setWordWrap(True)
        self.balance = _Figure("Balance")
        self.amount_due = _Figure("Amount due")
        self.minimum_due = _Figure("Minimum due")
        self.due_date = _Figure("Due date")
        figures = QGridLayout()
        for i, w in enumerate((self.balance, self.amount_due, self.minimum_due, self.due_date)):
            figures.addWidget(w, 0, i)
        self.facts = QLabel("")
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setWordWrap(True)
        self.notices = QLabel("")
        self.notices.setWordWrap(True)
        self.notices.setStyleSheet("background: #fef3c7; color: #78350f; border-radius: 4px; padding: 4px;")
        self.notices.hide()
        self.adjustments = QTableWidget(0, 3)
        self.adjustments.setHorizontalHeaderLabels(["Date", "Amount", "Reason"])
        self.adjustments.verticalHeader().hide()
        self.adjustments.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.adjustments.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.adjustments.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.adjustments.setMaximumHeight(96)
        self.adjustments.setAccessibleName("Adjustments")
        self.no_adjustments = QLabel("No adjustments on this account.")
        self.no_adjustments.setStyleSheet("color: #6b7280;")
        self.chart = UsageChart()
        self.site = QLabel("")
        self.site.setOpenExternalLinks(True)
        self.site.setTextFormat(Qt.TextFormat.RichText)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addLayout(figures)
        layout.addWidget(self.facts)
        layout.addWidget(self.site)
        layout.addWidget(self.notices)
        self.adjustments_title = QLabel("<b>Adjustments</b>")
        layout.addWidget(self.adjustments_title)
        layout.addWidget(self.adjustments)
        layout.addWidget(self.no_adjustments)
        self.chart.setMaximumHeight(240)
        layout.addWidget(self.chart)
        layout.addStretch(1)
        self.set_account(None)

    def set_account(self, view: AccountView | None) -> None:
        self.view = view
        has = view is not None
        for w in (self.balance, self.amount_due, self.minimum_due, self.due_date, self.facts, self.adjustments_title):
            w.setVisible(has)
        self.chart.setVisible(has and self.options.usage_graphs)
        site = self.options.virtual_site
        self.site.setText(f"Pays online at <a href='{escape(site, quote=True)}'>{escape(site)}</a>" if site else "")
        self.site.setVisible(has and bool(site))
        if view is None:
            self.title.setText("No account selected")
            self.subtitle.setText("Find the customer's account: account number, name, address or phone (F2).")
            self.notices.hide()
            self.adjustments.hide()
            self.no_adjustments.hide()
            return
        self.title.setText(f"{view.name}  ·  {view.account_number}")
        phone = f"  ·  {view.phone}" if view.phone else ""
        self.subtitle.setText(f"{view.service_address}{phone}")
        self.balance.set(format_money(view.balance), "#b91c1c" if view.balance > 0 else "#15803d")
        self.amount_due.set(format_money(view.amount_due))
        self.minimum_due.set(format_money(view.minimum_due))
        overdue = bool(view.due_date and view.amount_due > 0 and not view.bill_expired
                       and any("Past due" in n for n in view.notices))
        self.due_date.set(_date(view.due_date), "#b91c1c" if overdue else "#111827")
        bill = (f"<span style='color:#b91c1c'><b>expired</b> {_date(view.bill_expires)}</span>" if view.bill_expired
                else (f"payable until {_date(view.bill_expires)}" if view.bill_expires else "current"))
        self.facts.setText(" &nbsp;·&nbsp; ".join(self._facts(view, bill)))
        self.notices.setText("\n".join(view.notices))
        self.notices.setVisible(bool(view.notices))
        rows = list(view.adjustments)[-20:]
        self.adjustments.setRowCount(len(rows))
        for r, a in enumerate(reversed(rows)):
            when = a.adjusted_at.strftime("%m/%d/%Y") if a.adjusted_at else ""
            amount = QTableWidgetItem(format_money(a.amount))
            amount.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.adjustments.setItem(r, 0, QTableWidgetItem(when))
            self.adjustments.setItem(r, 1, amount)
            self.adjustments.setItem(r, 2, QTableWidgetItem(a.reason))
        self.adjustments.resizeColumnsToContents()
        self.adjustments.setVisible(bool(rows))
        self.no_adjustments.setVisible(not rows)
        if self.options.usage_graphs:
            self.chart.set_usage(view.usage)

    def _facts(self, view: AccountView, bill: str) -> list[str]:
        """The facts line: AutoPay (with its draft date) and paperless only where the biller offers them."""
        facts = [f"Bill: {bill}", f"Partial payments: <b>{'allowed' if view.partial_allowed else 'not allowed'}</b>"]
        if self.options.autopay_offered:
            draft = self.options.bif.autopay_date(view.due_date, view.autopay)
            facts.append(f"AutoPay: <b>{'on' if view.autopay else 'off'}</b>"
                         + (f", drafts <b>{_date(draft)}</b>" if draft else ""))
        if self.options.paperless_offered:
            facts.append(f"Paperless: <b>{_yes(view.paperless)}</b>")
        return facts


READER_STYLES = {
    "idle": ("#f3f4f6", "#374151"),
    "waiting": ("#eff6ff", "#1e3a8a"),
    "reading": ("#e0f2fe", "#075985"),
    "card": ("#ecfdf5", "#065f46"),
    "error": ("#fef2f2", "#991b1b"),
}


class CardIcon(QWidget):
    """A small payment-card pictogram in the reader state's colour (no font or image needed)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.color = QColor("#374151")
        self.setFixedSize(56, 40)

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt override
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = QRectF(3, 5, 50, 32)
        p.setPen(QPen(self.color, 2))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRoundedRect(card, 5, 5)
        p.fillRect(QRectF(4, 12, 48, 6), self.color)
        p.fillRect(QRectF(9, 25, 14, 5), self.color)
        p.end()


class CardBox(QFrame):
    """The reader's state and, once swiped, the masked card (brand, masked PAN, name)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("cardbox")
        self.headline = QLabel("")
        f = self.headline.font()
        f.setPointSizeF(f.pointSizeF() * 1.35)
        f.setBold(True)
        self.headline.setFont(f)
        self.headline.setWordWrap(True)
        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.icon = CardIcon()
        text = QVBoxLayout()
        text.addWidget(self.headline)
        text.addWidget(self.detail)
        layout = QHBoxLayout(self)
        layout.addWidget(self.icon)
        layout.addLayout(text, 1)
        self.state = ""
        self.show_state("idle", "Card reader", "Choose an account and an amount first.")

    def show_state(self, state: str, headline: str, detail: str = "") -> None:
        self.state = state
        bg, fg = READER_STYLES.get(state, READER_STYLES["idle"])
        self.setStyleSheet(f"#cardbox {{ background: {bg}; border: 2px solid {fg}; border-radius: 8px; }}"
                           f"#cardbox QLabel {{ color: {fg}; background: transparent; border: none; }}")
        self.icon.color = QColor(fg)
        self.icon.update()
        self.headline.setText(headline)
        self.detail.setText(detail)
        self.setAccessibleDescription(f"{headline}. {detail}")
