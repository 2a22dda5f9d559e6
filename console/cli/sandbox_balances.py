"""Sandbox extension (account sync): the ``--report`` section ``balances`` — what the Invoice Cloud
stand-in holds: balance updates received, accounts updated, updates received more than once
(always empty when every send was exactly once) and the demo accounts it deliberately does not
know ("not registered in Invoice Cloud")."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def report(data_dir: Path) -> dict[str, Any]:
    from console.sandbox.ic_balances import report as balances_report

    data = balances_report(Path(data_dir))
    data.pop("database", None)
    return data
