"""Counted words in messages: ``1 error``, ``2 errors``, ``1,234 invoices`` — never ``error(s)``."""

from __future__ import annotations

_IRREGULAR = {"entry": "entries", "company": "companies", "is": "are", "has": "have", "needs": "need",
              "was": "were", "blocks": "block"}


def plural(noun: str) -> str:
    """The plural of the last word of ``noun`` ("GL mapping" → "GL mappings")."""
    head, _, last = noun.rpartition(" ")
    word = _IRREGULAR.get(last) or (last[:-1] + "ies" if last.endswith("y") and last[-2:-1] not in "aeiou"
                                    else last + "es" if last.endswith(("s", "x", "ch", "sh")) else last + "s")
    return f"{head} {word}" if head else word


def counted(n: int, noun: str, plural_form: str | None = None) -> str:
    """``n`` and ``noun``, the noun in the plural unless ``n`` is 1 (thousands separated)."""
    return f"{n:,} {noun if n == 1 else plural_form or plural(noun)}"


def agree(n: int, singular: str, plural_form: str | None = None) -> str:
    """The verb (or word) for ``n`` things: ``agree(1, "is")`` → "is", ``agree(2, "is")`` → "are"."""
    return singular if n == 1 else plural_form or plural(singular)
