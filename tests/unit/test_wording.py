"""Counted words: '1 error' / '2 errors', never 'error(s)' — and no message in the code says '(s)'."""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

from console.domain.wording import agree, counted

CONSOLE = Path(__file__).resolve().parents[2] / "console"


def test_counted_and_agree():
    assert counted(1, "error") == "1 error" and counted(2, "error") == "2 errors"
    assert counted(0, "GL mapping") == "0 GL mappings" and counted(1234, "invoice") == "1,234 invoices"
    assert counted(3, "batch") == "3 batches" and counted(2, "entry") == "2 entries"
    assert agree(1, "is") == "is" and agree(2, "is") == "are" and agree(2, "needs") == "need"


def test_no_message_says_s_in_parentheses():
    found = []
    for path in CONSOLE.rglob("*.py"):
        for tok in tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline):
            if tok.type != tokenize.STRING or tok.string.startswith(('"""', "'''", 'r"""')):
                continue  # docstrings may say what is never written
            text = re.sub(r"\{[^{}]*\}", "", tok.string)  # code inside f-strings (len(s)) is not text
            if re.search(r"[A-Za-z]\((s|es)\)", text) and "http(s)" not in text:
                found.append(f"{path.relative_to(CONSOLE.parent)}:{tok.start[0]}")
    assert found == []
