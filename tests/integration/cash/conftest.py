"""Fixtures of the cash day's tests: the sandbox servers (one per module) and a fresh
journal file, audit log, drawer store and fixed clock per environment (``env(**settings)``)."""

from __future__ import annotations

import pytest

import console.sandbox.ic_gateway as ic_gateway
from console.adapters.caselle import request_token
from console.sandbox.caselle_server import CaselleServer
from console.sandbox.invoicecloud_server import InvoiceCloudServer
from tests.cash_env import make_env


@pytest.fixture(scope="module")
def caselle_server(tmp_path_factory):
    with CaselleServer(tmp_path_factory.mktemp("caselle")) as s:
        yield s


@pytest.fixture(scope="module")
def ic_server():
    with InvoiceCloudServer() as s:
        ic_gateway.store_of(s).stall_s = 4.0
        yield s


@pytest.fixture(scope="module")
def token(caselle_server):
    return request_token(caselle_server.token_url, "sandbox-client", "sandbox-secret")


@pytest.fixture
def env(tmp_path, caselle_server, ic_server, token):
    made = []

    def make(**settings):
        e = make_env(tmp_path / f"e{len(made)}", caselle_server, ic_server, token, **settings)
        made.append(e)
        return e

    yield make
    for e in made:
        e.close()
