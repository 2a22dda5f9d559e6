"""Drawer roles: a profile with operators checks them (a support operator may not open a drawer);
a new profile without operators has no roles to check — the operator ID is only recorded."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from console.adapters.journal import SqliteJournal
from console.config import sandbox_profile
from console.errors import NotPermitted
from console.services.drawer import DrawerService
from console.services.drawer_store import DrawerStore
from console.services.operators import OperatorService

AT = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


def drawers(tmp_path, profile) -> DrawerService:
    db = tmp_path / "journal.sqlite"
    return DrawerService(store=DrawerStore(db), journal=SqliteJournal(db), profile=profile,
                         operators=OperatorService(profile), clock=lambda: AT, workstation="ws")


def test_roles_are_checked_when_the_profile_has_operators(tmp_path):
    svc = drawers(tmp_path, sandbox_profile())
    with pytest.raises(NotPermitted):
        svc.open_drawer("support1", "10.00")
    assert svc.open_drawer("cashier1", "10.00").operator == "cashier1"
    assert [s.operator for s in svc.open_drawers("clerk1")] == []  # a clerk sees only their own


def test_a_profile_without_operators_records_the_id(tmp_path):
    profile = dataclasses.replace(sandbox_profile(), operators=())
    svc = drawers(tmp_path, profile)
    s = svc.open_drawer("cli:pat", "25.00")
    assert s.operator == "cli:pat" and [d.session_id for d in svc.open_drawers("cli:other")] == [s.session_id]
