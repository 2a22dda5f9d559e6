"""Invoice types: utility bills (42 by default) and CloudStore / Accounts Receivable invoices differ —
in their bill templates among other things. ``TYPE=value`` lists map a type to a setting's value.
Pure Python."""

from __future__ import annotations


def parse_type_map(value: list | tuple | str | None) -> dict[int, str]:
    """``["42=utility.toml", "801=ar.toml"]`` → ``{42: "utility.toml", 801: "ar.toml"}``; raises
    ValueError naming the entry that is not ``TYPE=value`` (a whole-number type, a value)."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    out: dict[int, str] = {}
    for raw in items:
        text = str(raw).strip()
        if not text:
            continue
        kind, sep, rest = text.partition("=")
        if not sep or not kind.strip().isdigit() or not rest.strip():
            raise ValueError(f"{text!r} is not TYPE=template (e.g. 801=ar-invoice.toml)")
        if int(kind) in out:
            raise ValueError(f"invoice type {int(kind)} is given twice")
        out[int(kind)] = rest.strip()
    return out


def check_type_map(value: list) -> list:
    """Settings rule for a ``TYPE=value`` list."""
    parse_type_map(value)
    return [str(v).strip() for v in value if str(v).strip()]
