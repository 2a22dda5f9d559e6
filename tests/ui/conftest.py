"""Fixtures shared by the UI tests (opt-in: none is autouse)."""

from __future__ import annotations

import pytest

from tests.ui.threads import drain


@pytest.fixture
def drained(qtbot):
    """After the test, cancel the operations still running and wait for their workers. Use as
    ``pytestmark = pytest.mark.usefixtures("drained")``."""
    yield
    drain()
