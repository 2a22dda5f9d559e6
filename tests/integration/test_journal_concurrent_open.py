"""Several consoles opening a brand-new journal at the same moment all get it (WAL switch retried)."""

import subprocess
import sys

SCRIPT = """
import sys, time
from pathlib import Path
from console.adapters.journal import SqliteJournal
start = float(sys.argv[2])
while time.time() < start:
    pass
j = SqliteJournal(Path(sys.argv[1]))
print(j.schema_version)
j.close()
"""


def test_many_processes_create_the_same_journal_at_once(tmp_path):
    import time

    for round_ in range(3):
        path = tmp_path / f"journal-{round_}.sqlite3"
        start = time.time() + 1.0
        procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(path), str(start)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(6)]
        outs = [p.communicate(timeout=60) for p in procs]
        assert [p.returncode for p in procs] == [0] * 6, [err[-1500:] for _, err in outs]
        assert len({out.strip() for out, _ in outs}) == 1
