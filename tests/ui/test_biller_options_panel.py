"""Settings that do what they say, in pytest-qt: AutoPay / paperless offered, history usage graphs (#109),
the Virtual site link — on the account panel — and the AutoPay draft date; the receipt names the site."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from PySide6.QtCore import QRectF
from PySide6.QtGui import QImage, QPainter

from console.config import sandbox_profile
from console.domain.bif import BifRules
from console.services.counter import AccountView, ReceiptDocument, UsageBar
from console.ui.counter_receipt import paint_receipt
from console.ui.counter_widgets import AccountPanel, PanelOptions

SITE = "https://www.invoicecloud.com/springville"


def _view(autopay: bool = True) -> AccountView:
    bars = tuple(UsageBar(f"2026-{m:02d}", Decimal(m), "kgal", Decimal("50.00")) for m in range(1, 13))
    return AccountView("100001-01", "Pat Doe", "1 Main St", "", "", "", Decimal("80.00"), Decimal("80.00"),
                       Decimal("10.00"), dt.date(2026, 11, 25), None, False, True, autopay, True, usage=bars)


def _panel(qtbot, options: PanelOptions, view: AccountView | None = None) -> AccountPanel:
    panel = AccountPanel(options=options)
    qtbot.addWidget(panel)
    panel.resize(520, 560)
    panel.show()
    panel.set_account(view or _view())
    return panel


def test_everything_offered_shows_autopay_with_its_draft_date_paperless_and_the_chart(qtbot):
    panel = _panel(qtbot, PanelOptions(bif=BifRules(autopay_days_before_due=3)))
    text = panel.facts.text()
    assert "AutoPay: <b>on</b>, drafts <b>11/22/2026</b>" in text and "Paperless" in text
    assert panel.chart.isVisible() and not panel.site.isVisible()
    panel.set_account(_view(autopay=False))
    assert "AutoPay: <b>off</b>" in panel.facts.text() and "drafts" not in panel.facts.text()


def test_not_offered_hides_autopay_and_paperless(qtbot):
    panel = _panel(qtbot, PanelOptions(autopay_offered=False, paperless_offered=False))
    assert "AutoPay" not in panel.facts.text() and "Paperless" not in panel.facts.text()
    assert "Partial payments" in panel.facts.text()


def test_usage_graphs_off_hides_the_chart(qtbot):
    panel = _panel(qtbot, PanelOptions(usage_graphs=False))
    assert not panel.chart.isVisible() and panel.chart.bars in (None, [], ())
    on = _panel(qtbot, PanelOptions(usage_graphs=True))
    assert on.chart.isVisible() and len(on.chart.bars) == 12


def test_the_virtual_site_appears_on_the_panel(qtbot):
    panel = _panel(qtbot, PanelOptions(virtual_site=SITE))
    assert panel.site.isVisible() and f"href='{SITE}'" in panel.site.text() and panel.site.openExternalLinks()
    panel.set_account(None)
    assert not panel.site.isVisible()


def test_options_come_from_the_profile_settings():
    profile = sandbox_profile().with_values(biller_autopay=False, biller_paperless=True, biller_usage_graphs=False,
                                           invoicecloud_virtual_site=SITE, bif_autopay_days_before_due=5)
    o = PanelOptions.from_profile(profile)
    assert (o.autopay_offered, o.paperless_offered, o.usage_graphs, o.virtual_site) == (False, True, False, SITE)
    assert o.bif.autopay_days_before_due == 5
    d = PanelOptions.from_profile(sandbox_profile())
    assert (d.autopay_offered, d.paperless_offered, d.usage_graphs, d.virtual_site) == (True, True, True, "")


def _receipt(site: str) -> ReceiptDocument:
    return ReceiptDocument("DEMO01", "5.00001", "100001-01", "Pat Doe", Decimal("20.00"), "", "", "", "",
                           dt.datetime(2026, 11, 20, 10, 0), "cashier1", "Casey", True, "PAID", tender="CASH",
                           virtual_site=site)


def test_the_receipt_names_the_virtual_site(qtbot, monkeypatch):
    drawn: list[str] = []
    original = QPainter.drawText

    def spy(self, *args):
        drawn.append(str(args[-1]))
        return original(self, *args)

    monkeypatch.setattr(QPainter, "drawText", spy)
    for site in (SITE, ""):
        image = QImage(460, 620, QImage.Format.Format_RGB32)
        p = QPainter(image)
        paint_receipt(p, QRectF(0, 0, 460, 620), _receipt(site))
        p.end()
    assert drawn.count(f"Pay online: {SITE}") == 1 and not any(t == "Pay online: " for t in drawn)
