"""Today's counter payments are a bounded read of the journal: with tens of thousands of Invoice
Cloud receipts journaled, only the day's counter entries are read (a range on the key index)."""

from __future__ import annotations

import datetime as dt

import pytest

from console.adapters.journal import DONE, PENDING, NewEntry, SqliteJournal
from console.services.counter import CARD_AUTH, RECEIPT, CounterService

TODAY = dt.date(2026, 11, 26)
YESTERDAY = TODAY - dt.timedelta(days=1)
UNRELATED = 20_000


class CountingJournal:
    """The real journal; counts the entries each ``entries()`` call hands back."""

    def __init__(self, journal: SqliteJournal):
        self.journal = journal
        self.rows_read = 0
        self.calls: list[dict] = []

    def entries(self, **kw):
        rows = self.journal.entries(**kw)
        self.rows_read += len(rows)
        self.calls.append(kw)
        return rows

    def __getattr__(self, name):
        return getattr(self.journal, name)


@pytest.fixture(scope="module")
def journal(tmp_path_factory):
    j = SqliteJournal(tmp_path_factory.mktemp("journal") / "journal.sqlite")
    # Invoice Cloud posting receipts (keyed by payment ID) plus counter-like keys of other days
    unrelated = [NewEntry(f"IC{i:08d}", RECEIPT, {"amount": "10.00", "account": f"A-{i}"}, line=i + 2)
                 for i in range(UNRELATED)]
    j.add_entries(unrelated, operator="clerk1", fingerprint="fp-ic", file_name="payments.csv",
                  file_kind="payments", records=UNRELATED, total="0.00")
    j.add_entry(NewEntry(f"ctr:{YESTERDAY:%Y%m%d}:AAAAAAAAAAAAAAAA", CARD_AUTH,
                         {"account": "100", "amount": "5.00", "taken_at": "2026-11-25T15:00:00+00:00"}),
                operator="cashier1")
    j.add_entry(NewEntry(f"ctr-cash:{YESTERDAY:%Y%m%d}:BBBBBBBB", RECEIPT,
                         {"account": "101", "amount": "6.00", "tender": "CASH"}), operator="cashier1")
    # today's counter payments: a card payment (unconfirmed), a cash payment, a check payment
    j.add_entry(NewEntry(f"ctr:{TODAY:%Y%m%d}:CCCCCCCCCCCCCCCC", CARD_AUTH,
                         {"account": "200", "amount": "7.00", "taken_at": "2026-11-26T15:00:00+00:00"}),
                operator="cashier1")
    j.add_entry(NewEntry(f"ctr-cash:{TODAY:%Y%m%d}:DDDDDDDD", RECEIPT,
                         {"account": "201", "amount": "8.00", "tender": "CASH"}), operator="cashier2")
    j.add_entry(NewEntry(f"ctr-check:{TODAY:%Y%m%d}:EEEEEEEE", RECEIPT,
                         {"account": "202", "amount": "9.00", "tender": "CHECK", "check_number": "1001"},
                         state=DONE, outcome="posted"), operator="cashier1")
    # after today's: more Invoice Cloud receipts (the key range must not run past the day)
    j.add_entry(NewEntry("IC99999999", RECEIPT, {"amount": "1.00"}), operator="clerk1")
    j.add_entry(NewEntry(f"ctr:{TODAY + dt.timedelta(days=1):%Y%m%d}:FFFFFFFFFFFFFFFF", CARD_AUTH,
                         {"account": "300", "amount": "1.00"}), operator="cashier1")
    yield j
    j.close()


def _service(journal) -> CounterService:
    return CounterService(caselle=None, gateway=None, journal=journal, posting=None, profile=None,
                          today=lambda: TODAY)


def test_todays_payments_reads_only_todays_counter_entries(journal):
    counting = CountingJournal(journal)
    rows = _service(counting).todays_payments()
    assert [(p.account_number, p.amount) for p in rows] == [("202", 9), ("201", 8), ("200", 7)]
    assert [p.state for p in rows] == ["posted", "queued", "unconfirmed"]
    assert counting.rows_read == 3  # not the 20,000 Invoice Cloud receipts


def test_todays_payments_by_operator_and_another_day(journal):
    counting = CountingJournal(journal)
    svc = _service(counting)
    assert [p.account_number for p in svc.todays_payments(operator="cashier2")] == ["201"]
    assert [p.account_number for p in svc.todays_payments(YESTERDAY)] == ["101", "100"]
    assert counting.rows_read == 3 + 2


def test_key_prefixes_is_an_index_range_not_a_scan(journal):
    prefixes = [f"ctr:{TODAY:%Y%m%d}:", f"ctr-cash:{TODAY:%Y%m%d}:"]
    got = journal.entries(kinds=[CARD_AUTH, RECEIPT], key_prefixes=prefixes)
    assert [e.key[:13] for e in got] == ["ctr:20261126:", "ctr-cash:2026"]
    assert journal.entries(key_prefixes=prefixes, newest=1)[0].key.startswith("ctr-cash:")
    assert journal.entries(key_prefixes=prefixes, states=[PENDING], kinds=[RECEIPT])[0].key.startswith("ctr-cash:")
    assert journal.entries(key_prefixes=[]) == []
    where, args = journal._where(kinds=[CARD_AUTH, RECEIPT], key_prefixes=prefixes)
    plan = journal._read(f"EXPLAIN QUERY PLAN SELECT id FROM entries{where} ORDER BY id", args)
    details = [row[3] for row in plan]
    assert not any(d.startswith("SCAN entries") for d in details), details
