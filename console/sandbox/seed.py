"""Deterministic demo customers for the sandbox (and for every generator that needs them).

The same ``seed`` and ``as_of`` always give the same customers, byte for byte: a seeded
``random.Random``, integer cents, no network. Other parts of the console (the Caselle
stand-in, the bill-PDF generator, the invoice and payments exports) call
:func:`demo_customers` / :func:`demo_customer` so they all talk about the same accounts.

``as_of`` is the sandbox's "today". Left out, it is the day the console runs
(:func:`demo_today`), so the demo bills are always current: a training invoice file has no
due date in the past on any day. The customers themselves (account numbers, names,
addresses, contact details, services, flags) do not depend on ``as_of``; only their latest
bill does (its dates, the usage it bills and so its amounts), and a month's usage is the
same whichever day it is looked at from.

Billing cycles: the 600 accounts are split over four cycles; cycle *n* is billed every week
on its own weekday (cycle 1 on Mondays … cycle 4 on Thursdays). An account's latest bill is
its cycle's last billing day *before* ``as_of`` (1 to 7 days earlier, never the day itself:
the sandbox's payments of the last days can pay it), is due three weeks later
(:data:`DUE_DAYS`) and bills the usage of the last full month before it.

The town is fictional: Juniper Springs, UT 84999. Phone numbers use the 555-01xx range
reserved for fiction, e-mail addresses the ``example.*`` domains reserved for examples.

Billing is *balance forward* (the seed page): the latest bill carries the previous balance,
payments received since, adjustments and the current charges; ``balance`` is what the
account owes now (negative = credit), ``amount_due`` is ``max(balance, 0)``.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
import threading
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

DEFAULT_SEED = 20210216
DEFAULT_COUNT = 600
#: Version of what this generator makes for a seed (the accounts and their bills). Bump it
#: whenever the same seed gives other accounts or bills: the sandbox's stored data (the Caselle
#: and Invoice Cloud stand-ins) made by an older version is reseeded when the sandbox starts
#: (:mod:`console.sandbox.freshness`). 1 = before the bills were dated by today (stores of that
#: time hold no version).
SEED_VERSION = 2
CYCLES = 4
#: Weekday each cycle is billed on (Monday = 0): cycle 1 on Mondays … cycle 4 on Thursdays.
CYCLE_WEEKDAYS = {1: 0, 2: 1, 3: 2, 4: 3}
#: Days from the bill date to the due date (three weeks: the same weekday).
DUE_DAYS = 21
#: Days from the bill date until the bill expires for payment (the next bill supersedes it).
EXPIRES_DAYS = 45

TOWN = "Juniper Springs"
STATE = "UT"
ZIP = "84999"
USAGE_UNIT = "kgal"
USAGE_MONTHS = 24

DIRECT_PAY_ACTIVE = "ACTIVE"
DIRECT_PAY_INACTIVE = "INACTIVE"
DIRECT_PAY_PENDING = "PENDING"

_CENT = Decimal("0.01")


def _m(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(_CENT)


#: Cents the sandbox card gateway (:mod:`console.sandbox.ic_gateway`) reads as test rules
#: (declines, a lost answer, HTTP 503). No demo bill asks for such an amount, so paying a bill
#: in full or its minimum at the counter is approved on every day; the rules are for amounts
#: keyed on purpose.
GATEWAY_TEST_CENTS = frozenset({1, 2, 3, 4, 5})


def _asks_test_cents(amount: Decimal) -> bool:
    return amount > 0 and int(amount * 100) % 100 in GATEWAY_TEST_CENTS


def demo_today() -> dt.date:
    """The sandbox's "today" when none is given: the local calendar day the console runs on
    (the invoice reader's ``date_in_past`` check uses the same day)."""
    return dt.date.today()


def cycle_bill_date(cycle: int, as_of: dt.date) -> dt.date:
    """The latest bill date of billing ``cycle`` seen on ``as_of``: the cycle's weekday in the
    seven days before ``as_of`` (``as_of`` itself never: that day's bills are not out yet)."""
    back = (as_of.weekday() - CYCLE_WEEKDAYS[cycle]) % 7 or 7
    return as_of - dt.timedelta(days=back)


_MASK64 = (1 << 64) - 1


def _unit(key: int, n: int) -> float:
    """A fixed pseudo-random number in [0, 1) for ``(key, n)`` (splitmix64): the same on every
    run, platform and Python version, and independent of any other draw."""
    z = (key + (n + 1) * 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return ((z ^ (z >> 31)) >> 11) / (1 << 53)


@dataclass(frozen=True)
class UsageMonth:
    period: str  # "YYYY-MM"
    consumption: Decimal  # thousands of gallons, one decimal
    billed: Decimal  # what that month's bill charged (money)
    unit: str = USAGE_UNIT


@dataclass(frozen=True)
class ChargeLine:
    code: str  # WATER | SEWER | GARBAGE | STORM
    description: str
    amount: Decimal


@dataclass(frozen=True)
class DemoAdjustment:
    adjustment_id: str  # e.g. "ADJ-000017"
    account_number: str
    adjusted_at: dt.datetime
    amount: Decimal  # negative = credit to the customer
    reason: str
    balance_after: Decimal
    entered_by: str = "UBCLERK"


@dataclass(frozen=True)
class DemoCustomer:
    account_number: str  # "100123-01": location number, dash, occupant sequence
    first_name: str
    last_name: str
    name: str  # display name, e.g. "José Núñez" or "Juniper Springs Dental LLC"
    sort_name: str  # "Núñez, José"
    is_business: bool
    service_address: str  # street line only, always in town
    mail_address1: str
    mail_address2: str
    mail_city: str
    mail_state: str
    mail_zip: str
    phone: str  # "" when unknown
    email: str  # "" when unknown
    cycle: int  # billing cycle / route 1..4
    status: str  # ACTIVE | FINAL
    services: tuple[str, ...]
    # latest bill (balance forward)
    invoice_number: str
    bill_date: dt.date
    due_date: dt.date
    bill_expires: dt.date
    previous_balance: Decimal
    payments_received: Decimal  # positive number, applied since the previous bill
    adjustments_total: Decimal  # adjustments since the previous bill
    current_charges: Decimal
    charges: tuple[ChargeLine, ...]
    balance: Decimal  # owed now; negative = credit balance
    amount_due: Decimal
    minimum_due: Decimal
    partial_payments_allowed: bool
    direct_pay_status: str  # ACTIVE | INACTIVE | PENDING
    paperless: bool
    usage: tuple[UsageMonth, ...]  # oldest first, USAGE_MONTHS entries
    adjustments: tuple[DemoAdjustment, ...]  # oldest first

    @property
    def autopay(self) -> bool:
        return self.direct_pay_status == DIRECT_PAY_ACTIVE

    @property
    def past_due(self) -> Decimal:
        return max(self.previous_balance - self.payments_received, Decimal("0.00"))

    @property
    def mail_address(self) -> str:
        lines = [self.mail_address1, self.mail_address2, f"{self.mail_city}, {self.mail_state} {self.mail_zip}"]
        return "\n".join(line for line in lines if line)

    @property
    def service_address_full(self) -> str:
        return f"{self.service_address}, {TOWN}, {STATE} {ZIP}"


# --------------------------------------------------------------------------- name pools
_FIRST = [
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth",
    "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah", "Charles", "Karen",
    "Christopher", "Lisa", "Daniel", "Nancy", "Matthew", "Betty", "Anthony", "Sandra", "Mark", "Margaret",
    "Steven", "Ashley", "Paul", "Kimberly", "Andrew", "Emily", "Joshua", "Donna", "Kenneth", "Michelle",
    "Kevin", "Carol", "Brian", "Amanda", "George", "Melissa", "Timothy", "Deborah", "Ronald", "Stephanie",
    "Jason", "Rebecca", "Ryan", "Laura", "Jacob", "Helen", "Gary", "Sharon", "Nicholas", "Cynthia",
    "Eric", "Kathleen", "Brigham", "Emma", "Spencer", "McKenna", "Tanner", "Kaylee", "Parker", "Brooklyn",
    "Dallin", "Hailey", "Porter", "Oakley", "Ammon", "Eliza", "Jared", "Whitney", "Colton", "Megan",
]
_FIRST_INTL = [
    "José", "María", "Jesús", "Sofía", "Andrés", "Lucía", "Ramón", "Inés", "Joaquín", "Mónica",
    "Héctor", "Verónica", "Raúl", "Begoña", "Zoë", "Chloé", "François", "Renée", "Søren", "Björn",
    "Jürgen", "Müge", "Ngọc", "Thảo", "Đức", "Siôn", "Seán", "Siobhán", "Nuño", "Ximena",
]
_LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor",
    "Thomas", "Moore", "Jackson", "Martin", "Thompson", "White", "Harris", "Clark", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill", "Green", "Adams", "Baker",
    "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker", "Evans", "Edwards",
    "Christensen", "Jensen", "Larsen", "Nielsen", "Hansen", "Petersen", "Olsen", "Sorensen", "Madsen", "Hatch",
    "Gardner", "Kimball", "Pratt", "Snow", "Richards", "Benson", "Call", "Bingham", "Cannon", "Romney",
    "Nguyen", "Tran", "Le", "Pham", "Kim", "Lee", "Chen", "Wang", "Patel", "Singh",
    "Garcia", "Martinez", "Rodriguez", "Hernandez", "Lopez", "Gonzalez", "Perez", "Sanchez", "Ramirez", "Torres",
]
_LAST_INTL = [
    "Núñez", "Peña", "Muñoz", "Ibáñez", "Gutiérrez", "Jiménez", "Martínez", "Rodríguez", "Pérez", "Sánchez",
    "Álvarez", "Gómez", "Hernández", "Díaz", "Fernández", "Ramírez", "Méndez", "Ortíz", "Suárez", "Vázquez",
    "Nguyễn", "Trần", "Lê", "Phạm", "Müller", "Schäfer", "Brontë", "Løvland", "Ó Briain", "D'Angelo",
]
_BUSINESS_PREFIX = [
    "Juniper Springs", "Red Butte", "Canyon View", "Cottonwood", "Sage Creek", "Mesa", "High Desert",
    "Old Mill", "Bonneville", "Wasatch", "Granite Peak", "Desert Bloom", "Pioneer", "Sunrise", "Peña Family",
]
_BUSINESS_KIND = [
    "Dental LLC", "Laundromat", "Apartments", "Car Wash", "Veterinary Clinic", "Grocery & Deli", "Fitness",
    "Café", "Self Storage", "Tire & Lube", "Motel", "Nursery", "Hardware", "Senior Living", "Bakery",
    "Daycare", "Auto Body", "Chiropractic", "Pizzeria", "Feed & Seed",
]
_STREETS = [
    "Main St", "Center St", "Cottonwood Dr", "Juniper Ln", "Sagebrush Rd", "Canyon View Dr", "Pioneer Way",
    "Old Mill Rd", "Red Butte Ave", "Bonneville Dr", "Wasatch Blvd", "Granite Cir", "Mesa Verde Dr",
    "Aspen Ct", "Quail Run", "Desert Willow Ln", "Cedar Hills Dr", "Orchard Ave", "Lakeview Dr", "Sunset Ridge",
]
_DIRS = ["N", "S", "E", "W", ""]
_OUT_OF_TOWN = [
    ("Salt Lake City", "UT", "84101"), ("Provo", "UT", "84601"), ("St. George", "UT", "84770"),
    ("Boise", "ID", "83702"), ("Las Vegas", "NV", "89101"), ("Phoenix", "AZ", "85004"),
    ("Denver", "CO", "80202"), ("Mesa", "AZ", "85201"),
]
_AREA_CODES = ["435", "801", "385", "208", "702", "480", "720", "775"]
_EMAIL_DOMAINS = ["example.com", "example.org", "example.net"]
_ADJ_REASONS = [
    ("Leak credit", -1),
    ("Late fee waived", -1),
    ("Meter misread correction", -1),
    ("Senior discount", -1),
    ("Billing error correction", -1),
    ("NSF fee", +1),
    ("Meter re-read fee", +1),
    ("Reconnection fee", +1),
]

# Rates (cents): base charge per service plus water per kgal over 3 kgal.
_WATER_BASE, _WATER_PER_KGAL = 2850, 215
_SEWER_BASE, _SEWER_PER_KGAL = 3200, 120  # sewer on winter-average volume, simplified
_GARBAGE = 1875
_STORM = 450


def _ascii(text: str) -> str:
    norm = unicodedata.normalize("NFKD", text)
    out = "".join(c for c in norm if not unicodedata.combining(c))
    return "".join(c for c in out.replace("Đ", "D").replace("đ", "d").replace("ø", "o").replace("Ø", "O")
                   if c.isalnum()).lower()


def _month_back(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.year * 12 + (d.month - 1) - months, 12)
    return dt.date(y, m + 1, 1)


def _usage(rng: random.Random, bill_date: dt.date, is_business: bool) -> tuple[UsageMonth, ...]:
    """The 24 months of seasonal water use before the bill's month, peaking in July
    (irrigation). A calendar month's use is the same whatever the bill date: its noise comes
    from the customer's noise key and the month, and ``rng`` is drawn the same number of times."""
    base = rng.uniform(2.5, 7.0) * (rng.uniform(3.0, 12.0) if is_business else 1.0)
    summer = rng.uniform(1.2, 3.2)  # how much the summer peak multiplies winter use
    noise_key = rng.getrandbits(64)
    months = []
    for back in range(USAGE_MONTHS, 0, -1):
        first = _month_back(bill_date, back)
        # season: 0 in January, 1 in July
        season = (1 + math.cos((first.month - 7) / 12 * 2 * math.pi)) / 2
        noise = 0.88 + 0.24 * _unit(noise_key, first.year * 12 + first.month)
        kgal = base * (1 + (summer - 1) * season) * noise
        consumption = Decimal(str(round(kgal, 1)))
        water = _WATER_BASE + int(max(consumption - 3, 0) * _WATER_PER_KGAL)
        billed_cents = water + _SEWER_BASE + _GARBAGE + _STORM
        months.append(UsageMonth(f"{first:%Y-%m}", consumption, _m(billed_cents)))
    return tuple(months)


def _charges(consumption: Decimal, services: tuple[str, ...], winter_avg: Decimal) -> tuple[ChargeLine, ...]:
    lines = []
    if "WATER" in services:
        over = max(consumption - 3, Decimal(0))
        lines.append(ChargeLine("WATER", f"Water base + {consumption} kgal",
                                _m(_WATER_BASE + int(over * _WATER_PER_KGAL))))
    if "SEWER" in services:
        lines.append(ChargeLine("SEWER", f"Sewer (winter avg {winter_avg} kgal)",
                                _m(_SEWER_BASE + int(max(winter_avg - 3, Decimal(0)) * _SEWER_PER_KGAL))))
    if "GARBAGE" in services:
        lines.append(ChargeLine("GARBAGE", "Garbage collection", _m(_GARBAGE)))
    if "STORM" in services:
        lines.append(ChargeLine("STORM", "Storm drain", _m(_STORM)))
    return tuple(lines)


def _make_customer(rng: random.Random, index: int, location: int, occupant: int, as_of: dt.date,
                   phone_pool: list[str], adj_counter: list[int]) -> DemoCustomer:
    account = f"{location:06d}-{occupant:02d}"
    is_business = rng.random() < 0.06
    if is_business:
        name = f"{rng.choice(_BUSINESS_PREFIX)} {rng.choice(_BUSINESS_KIND)}"
        first, last, sort_name = "", name, name
    else:
        intl = rng.random() < 0.14 or index == 0
        first = "José" if index == 0 else rng.choice(_FIRST_INTL if intl and rng.random() < 0.7 else _FIRST)
        last = "Núñez" if index == 0 else rng.choice(_LAST_INTL if intl else _LAST)
        name = f"{first} {last}"
        sort_name = f"{last}, {first}"

    number = rng.randrange(100, 4000, 2 if rng.random() < 0.5 else 1)
    direction = rng.choice(_DIRS)
    street = rng.choice(_STREETS)
    service_address = f"{number} {direction + ' ' if direction else ''}{street}"
    if rng.random() < 0.12:
        service_address += f" Unit {rng.randint(1, 24)}"

    r = rng.random()
    if r < 0.78:
        mail = (service_address, "", TOWN, STATE, ZIP)
    elif r < 0.88:
        mail = (f"PO Box {rng.randint(10, 1999)}", "", TOWN, STATE, ZIP)
    else:
        city, st, z = rng.choice(_OUT_OF_TOWN)
        mail = (f"{rng.randint(100, 9999)} {rng.choice(_STREETS)}", "", city, st, z)
    if is_business and rng.random() < 0.5:
        mail = (mail[0], "Attn: Accounts Payable", *mail[2:])

    phone = phone_pool[index % len(phone_pool)] if rng.random() < 0.9 else ""
    if rng.random() < 0.82:
        local = _ascii(name)[:20] if is_business else f"{_ascii(first)}.{_ascii(last)}"
        if rng.random() < 0.3:
            local += str(rng.randint(1, 99))
        email = f"{local}@{rng.choice(_EMAIL_DOMAINS)}"
    else:
        email = ""

    services = ["WATER", "SEWER", "GARBAGE", "STORM"]
    if is_business and rng.random() < 0.5:
        services.remove("GARBAGE")  # commercial hauler
    if rng.random() < 0.05:
        services.remove("SEWER")  # septic
    services_t = tuple(services)

    cycle = index % CYCLES + 1
    bill_date = cycle_bill_date(cycle, as_of)
    due_date = bill_date + dt.timedelta(days=DUE_DAYS)
    bill_expires = bill_date + dt.timedelta(days=EXPIRES_DAYS)

    usage = _usage(rng, bill_date, is_business)
    winter = [u.consumption for u in usage[-12:] if u.period[5:] in ("12", "01", "02")]
    winter_avg = (sum(winter, Decimal(0)) / max(len(winter), 1)).quantize(Decimal("0.1"))
    charges = _charges(usage[-1].consumption, services_t, winter_avg)
    current = sum((c.amount for c in charges), Decimal("0.00"))

    previous_bill = usage[-2].billed
    r = rng.random()
    if r < 0.62:  # paid last bill in full
        previous_balance, paid = previous_bill, previous_bill
    elif r < 0.80:  # paid part of it: arrears
        previous_balance = previous_bill + _m(rng.randint(0, 40000))
        # one draw whatever the amount (a randint over an amount-sized range would draw a
        # varying number of times and so change every later customer with the billing month)
        paid = _m(int(rng.random() * (int(previous_balance * 100) // 2 + 1)))
    elif r < 0.88:  # overpaid: credit balance
        previous_balance = previous_bill
        paid = previous_bill + current + _m(rng.randint(500, 25000))
    elif r < 0.95:  # prepaid exactly: zero balance after this bill
        previous_balance = previous_bill
        paid = previous_bill + current
    else:  # nothing paid
        previous_balance = previous_bill + _m(rng.randint(0, 20000))
        paid = Decimal("0.00")

    adjustments: list[DemoAdjustment] = []
    adj_total = Decimal("0.00")
    if rng.random() < 0.09:
        for _ in range(rng.choice((1, 1, 2))):
            reason, sign = rng.choice(_ADJ_REASONS)
            amount = _m(sign * rng.randint(500, 9000))
            when = dt.datetime.combine(bill_date, dt.time(0, 0)) - dt.timedelta(
                days=rng.randint(1, 25), hours=-rng.randint(8, 16), minutes=-rng.randint(0, 59))
            adj_counter[0] += 1
            adj_total += amount
            adjustments.append(DemoAdjustment(f"ADJ-{adj_counter[0]:06d}", account, when, amount, reason, amount))
        adjustments.sort(key=lambda a: a.adjusted_at)

    partial = rng.random() < 0.85
    # A bill never asks for an amount (in full or its minimum) whose cents are one of the
    # sandbox card gateway's test rules: a few cents more are carried from before instead.
    for carried in range(100):
        candidate = previous_balance + _m(carried)
        balance = candidate - paid + adj_total + current
        amount_due = max(balance, Decimal("0.00"))
        past_due = max(candidate - paid, Decimal("0.00"))
        minimum_due = min(amount_due, max(past_due, Decimal("10.00"))) if partial else amount_due
        if not (_asks_test_cents(amount_due) or _asks_test_cents(minimum_due)):
            previous_balance = candidate
            break
    # balance_after follows the chronological order
    running = previous_balance - paid
    adjustments = [
        DemoAdjustment(a.adjustment_id, a.account_number, a.adjusted_at, a.amount, a.reason,
                       (running := running + a.amount))
        for a in adjustments
    ]

    r = rng.random()
    direct_pay = DIRECT_PAY_ACTIVE if r < 0.18 else DIRECT_PAY_PENDING if r < 0.20 else DIRECT_PAY_INACTIVE
    paperless = bool(email) and rng.random() < 0.38
    status = "FINAL" if rng.random() < 0.02 else "ACTIVE"

    return DemoCustomer(
        account_number=account, first_name=first, last_name=last, name=name, sort_name=sort_name,
        is_business=is_business, service_address=service_address,
        mail_address1=mail[0], mail_address2=mail[1], mail_city=mail[2], mail_state=mail[3], mail_zip=mail[4],
        phone=phone, email=email, cycle=cycle, status=status, services=services_t,
        invoice_number=f"{bill_date:%y%m}{location:06d}{occupant:02d}",
        bill_date=bill_date, due_date=due_date, bill_expires=bill_expires,
        previous_balance=previous_balance, payments_received=paid, adjustments_total=adj_total,
        current_charges=current, charges=charges, balance=balance, amount_due=amount_due,
        minimum_due=minimum_due, partial_payments_allowed=partial, direct_pay_status=direct_pay,
        paperless=paperless, usage=usage, adjustments=tuple(adjustments),
    )


def demo_customers(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED,
                   as_of: dt.date | None = None) -> tuple[DemoCustomer, ...]:
    """``count`` demo customers, always the same for the same arguments (sorted by account);
    ``as_of`` (default: :func:`demo_today`) dates their latest bills."""
    return _generate(int(count), int(seed), as_of or demo_today())


@functools.lru_cache(maxsize=8)
def _generate(count: int, seed: int, as_of: dt.date) -> tuple[DemoCustomer, ...]:
    if count < 1:
        raise ValueError("count must be at least 1")
    rng = random.Random(f"biller-console-demo:{seed}")
    phones = [f"({area}) 555-{n:04d}" for area in _AREA_CODES for n in range(100, 200)]
    rng.shuffle(phones)
    customers: list[DemoCustomer] = []
    location = 100100
    adj_counter = [0]
    index = 0
    while len(customers) < count:
        location += rng.randint(1, 7)
        occupants = 1 if rng.random() < 0.9 else rng.randint(2, 3)
        # earlier occupants moved out; only the newest sequence is a live account
        customers.append(_make_customer(rng, index, location, occupants, as_of, phones, adj_counter))
        index += 1
    return tuple(customers)


def demo_customer(account_number: str, *, count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED,
                  as_of: dt.date | None = None) -> DemoCustomer:
    """One demo customer by account number (KeyError when there is none)."""
    found = _index(demo_customers(count, seed, as_of)).get(account_number)
    if found is None:
        raise KeyError(account_number)
    return found


_indexes: dict[int, tuple[tuple[DemoCustomer, ...], dict[str, DemoCustomer]]] = {}
_indexes_lock = threading.Lock()


def _index(customers: tuple[DemoCustomer, ...]) -> dict[str, DemoCustomer]:
    """Customers by account number, built once per generated tuple (so :func:`demo_customer`
    gives the very objects :func:`demo_customers` gives, even after the generator's cache let
    the tuple go and made it again)."""
    with _indexes_lock:
        entry = _indexes.get(id(customers))
        if entry is None or entry[0] is not customers:
            while len(_indexes) >= 8:
                _indexes.pop(next(iter(_indexes)))
            entry = (customers, {c.account_number: c for c in customers})
            _indexes[id(customers)] = entry
        return entry[1]


def demo_adjustments(count: int = DEFAULT_COUNT, seed: int = DEFAULT_SEED,
                     as_of: dt.date | None = None) -> list[DemoAdjustment]:
    """Every seeded adjustment, oldest first."""
    adjustments = [a for c in demo_customers(count, seed, as_of) for a in c.adjustments]
    return sorted(adjustments, key=lambda a: (a.adjusted_at, a.adjustment_id))


def to_customer_detail(customer: DemoCustomer):
    """The demo customer as the domain's :class:`~console.domain.models.CustomerDetail`."""
    from console.domain.models import Adjustment, CustomerDetail, UsagePoint

    return CustomerDetail(
        account_number=customer.account_number, name=customer.name,
        service_address=customer.service_address_full, mail_address=customer.mail_address,
        phone=customer.phone, email=customer.email, balance=customer.balance,
        amount_due=customer.amount_due, minimum_due=customer.minimum_due, due_date=customer.due_date,
        bill_expires=customer.bill_expires, partial_payments_allowed=customer.partial_payments_allowed,
        autopay=customer.autopay, paperless=customer.paperless,
        adjustments=tuple(Adjustment(a.adjustment_id, a.account_number, a.adjusted_at, a.amount, a.reason)
                          for a in customer.adjustments),
        usage=tuple(UsagePoint(u.period, u.consumption, u.unit) for u in customer.usage),
    )
