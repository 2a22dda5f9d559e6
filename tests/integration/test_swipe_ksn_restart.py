"""A replayed card read is refused across restarts, while the exactly-once recovery of a payment
whose answer was lost still works: two console "runs" (journal, KSN store, counter service,
reader detector) on one data folder, against the sandbox over HTTP."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

import console.sandbox.ic_gateway as ic_gateway
from console.adapters.caselle import CaselleClient, request_token
from console.adapters.gateway import GatewayClient
from console.adapters.journal import SqliteJournal
from console.config import sandbox_profile
from console.devices.capture import BurstDetector, DuplicateSwipe, run_stream, typed
from console.devices.ksn_memory import KsnStore
from console.devices.reader_config import ReaderSettings
from console.errors import NetworkError
from console.paths import Paths
from console.sandbox import seed
from console.sandbox.caselle_server import CaselleServer
from console.sandbox.invoicecloud_server import DEMO_WEB_SERVICE_KEY, InvoiceCloudServer
from console.services.counter import CounterService, PaymentUnconfirmed
from console.services.posting import PostingService, RetryPolicy
from tests.swipe_frames import FrameSpec, build_frame


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    with CaselleServer(tmp_path_factory.mktemp("caselle")) as caselle, InvoiceCloudServer() as ic:
        ic_gateway.store_of(ic).stall_s = 4.0
        yield caselle, ic, request_token(caselle.token_url, "sandbox-client", "sandbox-secret")


class Run:
    """One console run on the data folder: what a restart throws away and builds again."""

    def __init__(self, servers, data_dir):
        caselle_server, ic_server, token = servers
        self.profile = sandbox_profile().with_values(reader_preamble="#", reader_ksn_days=30)
        self.journal = SqliteJournal(data_dir / "journal.sqlite3")
        caselle = CaselleClient(caselle_server.url, token, timeout=5, operator="cashier1")
        posting = PostingService(self.journal, caselle, self.profile, None, retry=RetryPolicy(base_s=0.05, cap_s=0.1))
        self.counter = CounterService(caselle=caselle, gateway=GatewayClient(ic_server.url, DEMO_WEB_SERVICE_KEY,
                                                                            timeout=2.0),
                                      journal=self.journal, posting=posting, profile=self.profile,
                                      find_pause_s=0.05, find_attempts=1)
        reader = ReaderSettings.from_profile(self.profile)
        self.ksns = KsnStore.in_folder(data_dir, days=reader.ksn_days)
        self.detector = BurstDetector(reader.capture_settings(), ksns=self.ksns)

    def swipe(self, frame: str):
        out = run_stream(typed(frame + "\r"), detector=self.detector)
        return (out.cards[0] if out.cards else None), out.failures

    def crash(self):
        """The process ends: connections dropped, nothing tidied up."""
        self.journal.close()
        self.ksns.close()


def _account(counter):
    for c in seed.demo_customers():
        if c.amount_due > Decimal("5.00") and c.partial_payments_allowed:
            yield counter.account(c.account_number)


def test_replay_refused_after_restart_while_the_lost_payment_is_recovered_once(servers):
    data = Paths.default().data_dir
    frame = "#" + build_frame(FrameSpec(ksn="62994900000000C00001"))
    first = Run(servers, data)
    accounts = _account(first.counter)
    account = next(accounts)
    card, failures = first.swipe(frame)
    assert card is not None and failures == []
    real_find = first.counter.gateway.find
    first.counter.gateway.find = lambda key: (_ for _ in ()).throw(NetworkError("gateway unreachable",
                                                                                system="card gateway"))
    amount = Decimal(int(account.amount_due) + 1) + Decimal("0.02")  # the gateway commits, the answer is lost
    with pytest.raises(PaymentUnconfirmed) as info:
        first.counter.take_payment(account, amount, card, "cashier1", confirmed=True)
    first.counter.gateway.find = real_find
    key = info.value.key
    first.crash()

    second = Run(servers, data)  # the console starts again on the same data folder
    assert second.counter.payment(key).state == "unconfirmed"
    # the recorded frame typed again (a replay) is refused: no second card, no second charge
    replay, failures = second.swipe(frame)
    assert replay is None and isinstance(failures[0], DuplicateSwipe)
    # the journaled payment is resolved by its key (no card read needed), charged once
    out = second.counter.reconcile(keys=[key], operator="cashier1")
    assert out.resolved == {key: "approved"}
    assert second.counter.payment(key).state == "posted"
    store = ic_gateway.store_of(servers[1])
    with store.lock:
        assert sum(t.idempotency_key == key for t in store.by_id.values()) == 1
    # a new swipe of the same card (the reader's next KSN) is taken as usual
    card2, failures = second.swipe("#" + build_frame(FrameSpec(ksn="62994900000000C00002")))
    assert card2 is not None and failures == []
    other = next(accounts)
    result = second.counter.take_payment(other, other.amount_due, card2, "cashier1")
    assert result.status == "posted", result.message
    second.crash()


def test_two_consoles_on_one_data_folder_refuse_each_others_ksns(tmp_path):
    a = KsnStore.in_folder(tmp_path)
    b = KsnStore.in_folder(tmp_path)
    frame = build_frame(FrameSpec(ksn="62994900000000C00010"))
    da, db = BurstDetector(ksns=a), BurstDetector(ksns=b)
    assert len(run_stream(typed(frame + "\r"), detector=da).cards) == 1
    out = run_stream(typed(frame + "\r"), detector=db)
    assert out.cards == [] and out.failures[0].check == "duplicate swipe"
    # the same new KSN at the same moment on both: exactly one takes it
    results: list = []
    barrier = threading.Barrier(8)

    def go(store):
        barrier.wait()
        results.append(store.remember("62994900000000C00011", "T1"))

    threads = [threading.Thread(target=go, args=(s,)) for s in (a, b) * 4]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r is None for r in results) == 1
    a.close()
    b.close()
