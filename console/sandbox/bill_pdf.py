"""A realistic bill batch PDF for the sandbox's demo customers (fpdf2).

One bill per customer, printed the way a utility prints a cycle: letter pages, the city's
logo block, the account box at a fixed place (top right: this is what the shipped template
``resources/templates/sandbox-bills.toml`` reads), the mailing address in the envelope
window, an account summary with the current charges, a 12- or 24-month usage bar chart,
messages, and a remittance stub. Some bills run to a second page (usage history and
adjustments); a continuation page repeats the account number only in its heading at the
left, outside the template's region, as real bill printers do.

The same customers and ``seed`` always give the same bytes (the creation date is the
batch's latest bill date at 06:00 UTC, seeded choices), so tests and benchmarks can rely on it. Customers are passed in (normally
``console.sandbox.seed.demo_customers()``); anything with the same attributes works.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from fpdf import FPDF

from console.domain.money import format_money

LAYOUT_VERSION = 1  # bump when the printed layout changes (cached sandbox batches are reprinted)
PAGE_W, PAGE_H = 612.0, 792.0  # US Letter in points
MARGIN = 36.0
# The account box (top right). The sandbox template's region covers its first two lines.
ACCOUNT_BOX = (372.0, 36.0, 576.0, 118.0)  # x0, top, x1, bottom
ACCOUNT_REGION = (372.0, 36.0, 576.0, 74.0)
PRINTED_AT = dt.time(6, 0, tzinfo=dt.UTC)  # the batch is "printed" early on its latest bill date

BLUE = (22, 78, 140)
LIGHT = (234, 241, 249)
GREY = (90, 90, 90)


@dataclass(frozen=True)
class Biller:
    name: str = "CITY OF JUNIPER SPRINGS"
    department: str = "Public Utilities - Water, Sewer & Sanitation"
    address: str = "55 N Main St"
    city: str = "Juniper Springs, UT 84999"
    phone: str = "(435) 555-0100"
    web: str = "utilities.juniper-springs.example.gov"


MESSAGES = (
    "Outdoor watering is allowed before 10 a.m. and after 6 p.m. Thank you for conserving water.",
    "Sign up for paperless billing and AutoPay online - it is free and saves postage.",
    "Hydrant flushing runs through the end of the month. Water may look cloudy; run a cold tap briefly.",
    "Leaf collection starts next month. Place bagged leaves at the curb by 7 a.m. on your pickup day.",
    "Pay online 24/7, by phone, or at the City Office, Monday to Friday 8 a.m. to 5 p.m.",
    "Please keep your meter box clear of snow, vehicles and landscaping so it can be read.",
)
MONTHS = "JFMAMJJASOND"
_NOT_LATIN1 = {"Đ": "D", "đ": "d", "Ł": "L", "ł": "l", "Œ": "OE", "œ": "oe", "’": "'", "–": "-", "—": "-"}


def latin1(text: str) -> str:
    """The built-in PDF fonts cover Latin-1: keep what they can print, transliterate the rest."""
    out = []
    for ch in str(text):
        try:
            ch.encode("latin-1")
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        if ch in _NOT_LATIN1:
            out.append(_NOT_LATIN1[ch])
            continue
        base = unicodedata.normalize("NFKD", ch)
        # a composed Latin-1 letter plus a further accent (ễ -> ê) keeps what Latin-1 has
        recomposed = unicodedata.normalize("NFC", base[:2]) if len(base) > 2 else ""
        if recomposed and len(recomposed) == 1 and _is_latin1(recomposed):
            out.append(recomposed)
        else:
            out.append("".join(c for c in base if _is_latin1(c) and not unicodedata.combining(c)) or "?")
    return "".join(out)


def _is_latin1(ch: str) -> bool:
    try:
        ch.encode("latin-1")
        return True
    except UnicodeEncodeError:
        return False


def _month_before(d: dt.date) -> dt.date:
    y, m = (d.year, d.month - 1) if d.month > 1 else (d.year - 1, 12)
    return dt.date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _date(d: dt.date) -> str:
    return d.strftime("%m/%d/%Y")


def printed_at(customers: Sequence) -> dt.datetime:
    """The batch's creation date: the latest bill date of its customers, at 06:00 UTC (the same
    customers, the same date; a batch is never dated before the bills it holds)."""
    day = max((c.bill_date for c in customers), default=None) or dt.date.today()
    return dt.datetime.combine(day, PRINTED_AT)


def bill_page_count(customer, seed: int = 0) -> int:
    """1 or 2: businesses, accounts with adjustments and some others get a second page."""
    rng = random.Random(f"bill-pages:{seed}:{customer.account_number}")
    return 2 if (customer.is_business or customer.adjustments or rng.random() < 0.08) else 1


def build_bill_batch(
    customers: Sequence,
    out: Path | str | None = None,
    *,
    seed: int = 0,
    biller: Biller = Biller(),
    usage_months: int = 12,
    progress: Callable[..., None] | None = None,
) -> bytes:
    """Print one bill per customer into one PDF; returns its bytes and writes ``out`` if given."""
    if usage_months not in (12, 24):
        raise ValueError("usage_months must be 12 or 24")
    pdf = FPDF(unit="pt", format="letter")
    pdf.set_creation_date(printed_at(customers))
    pdf.set_producer("Biller Console sandbox")
    pdf.set_title(f"{biller.name} - utility bills")
    pdf.set_author(biller.name)
    pdf.set_auto_page_break(False)
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    rng = random.Random(f"bill-batch:{seed}")
    message = rng.choice(MESSAGES)
    total = len(customers)
    for n, customer in enumerate(customers, 1):
        _first_page(pdf, customer, biller, message, usage_months)
        if bill_page_count(customer, seed) == 2:
            _second_page(pdf, customer, biller)
        if progress is not None and (n % 50 == 0 or n == total):
            progress(n, total, f"Printed {n} of {total} bills")
    data = bytes(pdf.output())
    if out is not None:
        out = Path(out)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_bytes(data)
        tmp.replace(out)
    return data


# ---- drawing ----------------------------------------------------------------------------------

def _text(pdf: FPDF, x: float, y: float, text: str, size: float = 9, style: str = "",
          color=(0, 0, 0), font: str = "Helvetica") -> None:
    """Write ``text`` with its top at ``y`` (points from the top of the page)."""
    pdf.set_font(font, style, size)
    pdf.set_text_color(*color)
    pdf.text(x, y + size * 0.8, latin1(text))


def _right(pdf: FPDF, x_right: float, y: float, text: str, size: float = 9, style: str = "",
           color=(0, 0, 0)) -> None:
    pdf.set_font("Helvetica", style, size)
    w = pdf.get_string_width(latin1(text))
    _text(pdf, x_right - w, y, text, size, style, color)


def _logo(pdf: FPDF, biller: Biller, x: float = MARGIN, y: float = MARGIN, small: bool = False) -> None:
    s = 34 if small else 58
    pdf.set_fill_color(*BLUE)
    pdf.rect(x, y, s, s, style="F", round_corners=True, corner_radius=6)
    # a water drop: a circle with a triangle on top
    pdf.set_fill_color(255, 255, 255)
    cx, cy, r = x + s / 2, y + s * 0.62, s * 0.2
    pdf.ellipse(cx - r, cy - r, 2 * r, 2 * r, style="F")
    pdf.polygon([(cx - r * 0.97, cy - r * 0.25), (cx, y + s * 0.14), (cx + r * 0.97, cy - r * 0.25)], style="F")
    tx = x + s + 10
    if small:
        _text(pdf, tx, y + 2, biller.name, 11, "B", BLUE)
        _text(pdf, tx, y + 17, biller.department, 7.5, "", GREY)
        return
    _text(pdf, tx, y + 2, biller.name, 15, "B", BLUE)
    _text(pdf, tx, y + 21, biller.department, 8, "", GREY)
    _text(pdf, tx, y + 32, f"{biller.address}, {biller.city}", 8, "", GREY)
    _text(pdf, tx, y + 43, f"{biller.phone}  |  {biller.web}", 8, "", GREY)


def _first_page(pdf: FPDF, c, biller: Biller, message: str, usage_months: int) -> None:
    pdf.add_page()
    pdf.set_draw_color(*BLUE)
    pdf.set_line_width(0.6)
    _logo(pdf, biller)

    # account box (fixed place: the template reads its first two lines)
    x0, top, x1, bottom = ACCOUNT_BOX
    pdf.set_fill_color(*LIGHT)
    pdf.rect(x0, top, x1 - x0, bottom - top, style="DF")
    _text(pdf, x0 + 10, top + 8, "Account Number", 8, "", GREY)
    _text(pdf, x0 + 10, top + 20, c.account_number, 14, "B")
    for i, (label, value) in enumerate((("Bill Date", _date(c.bill_date)), ("Due Date", _date(c.due_date)),
                                        ("Amount Due", format_money(c.amount_due)))):
        y = top + 44 + i * 12
        _text(pdf, x0 + 10, y, label, 8.5, "B" if label == "Amount Due" else "")
        _right(pdf, x1 - 10, y, value, 8.5, "B" if label == "Amount Due" else "")

    _text(pdf, MARGIN, 110, "UTILITY BILL", 12, "B", BLUE)

    # mailing address (envelope window)
    y = 150
    for line in (c.name.upper(), c.mail_address1, c.mail_address2,
                 f"{c.mail_city}, {c.mail_state} {c.mail_zip}"):
        if line:
            _text(pdf, 64, y, line, 10)
            y += 13

    # service information
    period_start, period_end = _month_before(c.bill_date), c.bill_date - dt.timedelta(days=1)
    _text(pdf, 372, 136, "Service Address", 8, "B", BLUE)
    _text(pdf, 372, 148, c.service_address, 9)
    _text(pdf, 372, 162, f"Service period {_date(period_start)} - {_date(period_end)}", 8)
    _text(pdf, 372, 174, f"Cycle {c.cycle}   Status {c.status}", 8)
    _text(pdf, 372, 186, "Services: " + ", ".join(s.title() for s in c.services), 8)
    if c.phone:
        _text(pdf, 372, 198, f"Phone on file {c.phone}", 8)

    # account summary and current charges
    pdf.set_draw_color(*BLUE)
    pdf.line(MARGIN, 226, PAGE_W - MARGIN, 226)
    _text(pdf, MARGIN, 234, "Account Summary", 11, "B", BLUE)
    rows = [("Previous Balance", c.previous_balance),
            ("Payments Received - Thank You", -c.payments_received),
            ("Adjustments", c.adjustments_total)]
    y = 254
    for label, amount in rows:
        _text(pdf, MARGIN, y, label, 9)
        _right(pdf, 330, y, format_money(amount), 9)
        y += 13
    balance_forward = c.previous_balance - c.payments_received + c.adjustments_total
    _text(pdf, MARGIN, y, "Balance Forward", 9, "B")
    _right(pdf, 330, y, format_money(balance_forward), 9, "B")
    y += 22
    _text(pdf, MARGIN, y, "Current Charges", 10, "B", BLUE)
    y += 15
    for line in c.charges:
        _text(pdf, MARGIN + 8, y, line.description, 9)
        _right(pdf, 330, y, format_money(line.amount), 9)
        y += 13
    _text(pdf, MARGIN, y, "Total Current Charges", 9, "B")
    _right(pdf, 330, y, format_money(c.current_charges), 9, "B")
    y += 18
    pdf.set_fill_color(*LIGHT)
    pdf.rect(MARGIN, y - 4, 330 - MARGIN + 6, 20, style="F")
    _text(pdf, MARGIN + 4, y, "TOTAL AMOUNT DUE", 10, "B")
    _right(pdf, 330, y, format_money(c.amount_due), 10, "B")
    _text(pdf, MARGIN, y + 24, f"Due by {_date(c.due_date)}. A late fee applies to balances unpaid after "
          "the due date.", 7.5, "", GREY)

    _usage_chart(pdf, c, 352, 234, 224, 190, usage_months)

    # messages
    _text(pdf, MARGIN, 470, "Messages", 10, "B", BLUE)
    notes = [message]
    if c.autopay:
        notes.append(f"AutoPay: {format_money(c.amount_due)} will be drafted on {_date(c.due_date)}. "
                     "Do not pay this bill.")
    if c.balance < 0:
        notes.append("Your account has a credit balance. No payment is due.")
    if c.past_due > 0:
        notes.append(f"Past due: {format_money(c.past_due)}. Please pay now to avoid a late fee.")
    y = 486
    pdf.set_font("Helvetica", "", 8.5)
    pdf.set_text_color(0, 0, 0)
    for note in notes[:3]:
        pdf.set_xy(MARGIN, y)
        pdf.multi_cell(PAGE_W - 2 * MARGIN, 11, latin1(note))
        y = pdf.get_y() + 3

    _stub(pdf, c, biller)


def _usage_chart(pdf: FPDF, c, x: float, y: float, w: float, h: float, months: int) -> None:
    usage = list(c.usage)[-months:]
    unit = usage[0].unit if usage else "kgal"
    _text(pdf, x, y, f"Water Use ({unit}), last {months} months", 10, "B", BLUE)
    if not usage:
        return
    top, base = y + 30, y + h - 20
    peak = max((u.consumption for u in usage), default=Decimal(1)) or Decimal(1)
    scale_max = int(peak) + 1
    _right(pdf, x + 16, top - 4, str(scale_max), 6.5, "", GREY)
    _right(pdf, x + 16, base - 4, "0", 6.5, "", GREY)
    pdf.set_draw_color(160, 160, 160)
    pdf.set_line_width(0.4)
    pdf.line(x + 20, top, x + 20, base)
    pdf.line(x + 20, base, x + w, base)
    slot = (w - 24) / len(usage)
    bar = slot * 0.68
    for i, u in enumerate(usage):
        height = float(u.consumption) / scale_max * (base - top)
        bx = x + 24 + i * slot
        last = i == len(usage) - 1
        pdf.set_fill_color(*(BLUE if last else (143, 176, 214)))
        if height > 0:
            pdf.rect(bx, base - height, bar, height, style="F")
        month = int(u.period[5:7])
        _text(pdf, bx + bar / 2 - 2, base + 3, MONTHS[month - 1], 6, "", GREY)
    last, first = usage[-1], usage[0]
    _text(pdf, x, base + 13, f"This month {last.consumption} {unit}; "
          f"same month last year {usage[-13].consumption if len(usage) >= 13 else first.consumption} {unit}",
          7, "", GREY)


def _stub(pdf: FPDF, c, biller: Biller) -> None:
    y = 600
    pdf.set_draw_color(120, 120, 120)
    pdf.set_line_width(0.5)
    pdf.set_dash_pattern(dash=4, gap=3)
    pdf.line(MARGIN, y, PAGE_W - MARGIN, y)
    pdf.set_dash_pattern()
    _text(pdf, MARGIN, y + 4, "Please detach and return this portion with your payment. "
          "Make checks payable to " + biller.name + ".", 7, "", GREY)
    _logo(pdf, biller, MARGIN, y + 22, small=True)
    _text(pdf, MARGIN, y + 66, "Remit to:", 8, "B")
    for i, line in enumerate((biller.name, "Utility Billing", biller.address, biller.city)):
        _text(pdf, MARGIN, y + 78 + i * 11, line, 8)

    bx, bw = 330.0, 246.0
    pdf.set_draw_color(*BLUE)
    pdf.set_fill_color(*LIGHT)
    pdf.rect(bx, y + 22, bw, 70, style="DF")
    rows = (("Account", c.account_number), ("Due Date", _date(c.due_date)),
            ("Amount Due", format_money(c.amount_due)))
    for i, (label, value) in enumerate(rows):
        _text(pdf, bx + 8, y + 30 + i * 14, label, 8.5, "B" if label == "Amount Due" else "")
        _right(pdf, bx + bw - 8, y + 30 + i * 14, value, 8.5, "B" if label == "Amount Due" else "")
    _text(pdf, bx + 8, y + 74, "Amount Enclosed  $ ____________", 8.5)
    _text(pdf, bx, y + 104, c.name.upper(), 9)
    _text(pdf, bx, y + 116, c.service_address, 9)
    cents = int((c.amount_due * 100).to_integral_value()) if c.amount_due > 0 else 0
    scan = f"{c.account_number.replace('-', '')}{c.due_date:%m%d%y}{cents:010d}"
    _text(pdf, MARGIN, y + 140, scan, 10, "", (0, 0, 0), font="Courier")


def _second_page(pdf: FPDF, c, biller: Biller) -> None:
    pdf.add_page()
    _logo(pdf, biller, small=True)
    # the account number is repeated at the left, outside the template's region
    _text(pdf, MARGIN, 84, f"Statement continued - Account {c.account_number} - {c.name} - page 2 of 2", 9, "B")
    pdf.set_draw_color(*BLUE)
    pdf.line(MARGIN, 100, PAGE_W - MARGIN, 100)

    _text(pdf, MARGIN, 112, "Usage History", 11, "B", BLUE)
    heads = ("Period", "Use", "Billed")
    y = 130
    for col in range(2):
        cx = MARGIN + col * 270
        for j, head in enumerate(heads):
            _text(pdf, cx + j * 80, y, head, 8.5, "B")
    for i, u in enumerate(c.usage):
        col, row = divmod(i, 12)
        cx, ry = MARGIN + col * 270, y + 14 + row * 12
        _text(pdf, cx, ry, u.period, 8.5)
        _text(pdf, cx + 80, ry, f"{u.consumption} {u.unit}", 8.5)
        _text(pdf, cx + 160, ry, format_money(u.billed), 8.5)

    y = 300
    _text(pdf, MARGIN, y, "Adjustments on This Account", 11, "B", BLUE)
    y += 18
    if not c.adjustments:
        _text(pdf, MARGIN, y, "No adjustments in this period.", 8.5)
        y += 12
    for a in c.adjustments:
        _text(pdf, MARGIN, y, f"{a.adjusted_at:%m/%d/%Y}", 8.5)
        _text(pdf, MARGIN + 80, y, a.reason, 8.5)
        _right(pdf, 400, y, format_money(a.amount), 8.5)
        _right(pdf, 500, y, f"balance {format_money(a.balance_after)}", 8.5, "", GREY)
        y += 12

    y = max(y + 20, 420)
    _text(pdf, MARGIN, y, "Understanding Your Bill", 11, "B", BLUE)
    pdf.set_font("Helvetica", "", 8.5)
    pdf.set_text_color(0, 0, 0)
    pdf.set_xy(MARGIN, y + 18)
    pdf.multi_cell(PAGE_W - 2 * MARGIN, 11, latin1(
        "Water is billed as a base charge plus a charge for every thousand gallons (kgal) used above "
        "3 kgal. Sewer is billed on your winter average water use. Garbage and storm drain are flat "
        "monthly charges. Your balance carries forward: the previous balance less payments and "
        "adjustments is added to the current charges. Questions? Call " + biller.phone + "."))
    _text(pdf, MARGIN, 740, f"{biller.name}  |  {biller.web}", 7, "", GREY)
