"""Hypothesis state machine over a real journal file: whatever two consoles do, in any order,
an entry is never held by two owners, terminal entries are never handed out, and an entry
handed out again after a possible send always says it must be reconciled first."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from console.adapters.journal import (
    DONE,
    IN_FLIGHT,
    NEEDS_REVIEW,
    PENDING,
    REJECTED,
    REPORTED,
    TERMINAL,
    NewEntry,
    SqliteJournal,
)

KEYS = [f"K{i}" for i in range(6)]
OWNERS = ["host:1:a", "host:2:b"]


class JournalMachine(RuleBasedStateMachine):
    @initialize()
    def setup(self):
        self.dir = tempfile.TemporaryDirectory()
        self.j = SqliteJournal(Path(self.dir.name) / "j.sqlite3")
        self.j.add_entries([NewEntry(k, "receipt", {"amount": "1.00"}) for k in KEYS], operator="t",
                           fingerprint="f", file_name="f", file_kind="payments", records=len(KEYS), total="6.00")
        self.held: dict[str, str] = {}  # key -> owner (our model)
        self.sent: set[str] = set()  # keys that may have reached the remote
        self.state: dict[str, str] = dict.fromkeys(KEYS, PENDING)

    @rule(owner=st.sampled_from(OWNERS), limit=st.integers(1, 4))
    def claim(self, owner, limit):
        for e in self.j.claim(owner, ["receipt"], limit=limit, lease_s=3600):
            assert e.key not in self.held, f"{e.key} handed out twice"
            assert self.state[e.key] == PENDING, f"{e.key} was {self.state[e.key]}"
            assert e.needs_reconcile == (e.key in self.sent)
            self.held[e.key] = owner
            self.state[e.key] = IN_FLIGHT

    @precondition(lambda self: self.held)
    @rule(data=st.data(), outcome=st.sampled_from(["send_ok", "send_unknown", "unsent", "refused", "review",
                                                    "reported"]))
    def act(self, data, outcome):
        key = data.draw(st.sampled_from(sorted(self.held)))
        owner = self.held.pop(key)
        if outcome == "unsent":
            assert self.j.record_many([("unclaim", key, owner)]) == [True]
            self.state[key] = PENDING
            return
        self.sent.add(key)
        if outcome == "send_unknown":
            assert self.j.release(key, owner, delay_s=0)
            self.state[key] = PENDING
            return
        state = {"send_ok": DONE, "refused": REJECTED, "review": NEEDS_REVIEW, "reported": REPORTED}[outcome]
        assert self.j.finish(key, owner, state, remote_ref="r")
        self.state[key] = state

    @rule(owner=st.sampled_from(OWNERS), key=st.sampled_from(KEYS))
    def stranger_cannot_finish(self, owner, key):
        if self.held.get(key) == owner:
            return
        assert not self.j.finish(key, owner, DONE)
        assert not self.j.release(key, owner, delay_s=0)

    @rule(key=st.sampled_from(KEYS))
    def operator_retry(self, key):
        n = self.j.reopen([key], operator="super1")
        if self.state[key] in (REJECTED, NEEDS_REVIEW):
            assert n == 1
            self.state[key] = PENDING
        else:
            assert n == 0

    @invariant()
    def journal_matches_model(self):
        if not hasattr(self, "j"):
            return
        for e in self.j.entries():
            assert e.state == self.state[e.key], (e.key, e.state, self.state[e.key])
            assert e.attempts >= 0
            if e.state == IN_FLIGHT:
                assert e.lease_owner == self.held[e.key]
            if e.state in TERMINAL:
                assert e.lease_owner == ""

    def teardown(self):
        if hasattr(self, "j"):
            self.j.close()
            self.dir.cleanup()


JournalMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None)
test_journal_state_machine = JournalMachine.TestCase
