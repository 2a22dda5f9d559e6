"""Diagnostics entries for a journal on the office's PostgreSQL server: which journal, the
server's version, the round-trip latency and the schema versions — and a clear failure when
the server cannot be reached (the console then takes and posts no payment). GUI-free, like
:mod:`console.services.diagnostics`, whose journal and card-read checks hand over to these
when the profile (or ``$BILLER_CONSOLE_JOURNAL_URL``) names a ``postgresql://`` journal."""

from __future__ import annotations

from console.adapters.journal import JournalError

JOURNAL_TITLE = "Journal location"
LATENCY_WARN_MS = 20.0  # every claim and outcome is a round trip: above this, posting slows down
UNREACHABLE_HINT = ("Start the journal server or fix the network, the URL (File › Settings… › Journal) or the journal "
                    "password. Until it answers this console takes and posts no payment: it never falls back to a "
                    "journal of its own, which would let two PCs send the same payment")


def uses_journal_server(services) -> bool:
    return bool(getattr(services, "journal_is_server", False))


def check_journal_server(run):
    from console.services.diagnostics import FAIL, PASS, WARN, Check

    services = run.services
    where = f"PostgreSQL journal {_display(services)}"
    try:
        info = services.journal_db.server_info()
        counts = services.journal.counts()
    except JournalError as exc:
        return Check("journal", JOURNAL_TITLE, FAIL, f"{where}: unreachable — {getattr(exc, 'message', exc)}",
                     UNREACHABLE_HINT, [where])
    schema = ", ".join(f"{k} v{v}" for k, v in sorted(info["schema"].items())) or "none yet"
    details = [where, f"server PostgreSQL {info['server_version']}", f"latency {info['latency_ms']:.2f} ms",
               f"schema {schema}", ", ".join(f"{n} {s.replace('_', ' ')}" for s, n in counts.items())]
    summary = (f"PostgreSQL {info['server_version'].split()[0]}, {info['latency_ms']:.1f} ms, "
               f"journal schema v{info['schema'].get('journal', '?')}")
    if counts.get("needs_review"):
        return Check("journal", JOURNAL_TITLE, WARN, f"{summary}; {counts['needs_review']} need review",
                     "Open the Posting tab and resolve them (a supervisor decides)", details)
    if info["latency_ms"] > LATENCY_WARN_MS:
        return Check("journal", JOURNAL_TITLE, WARN, f"{summary} (slow)",
                     "Every posting waits for the journal server: put it on the office network, not over a WAN",
                     details)
    return Check("journal", JOURNAL_TITLE, PASS, summary, "", details)


def check_shared_ksns(run, title: str, days: int):
    from console.services.diagnostics import FAIL, PASS, Check

    services = run.services
    try:
        store = services.shared_ksn_store(days)
        n = store.count()
    except JournalError as exc:
        return Check("reader_ksns", title, FAIL, f"The journal server is unreachable: {getattr(exc, 'message', exc)}",
                     UNREACHABLE_HINT,
                     [_display(services)])
    return Check("reader_ksns", title, PASS, f"Kept {days} days on the journal server, shared by every window",
                 "", [_display(services), f"{n} card reads remembered"])


def _display(services) -> str:
    from console.adapters.pg import redact_url

    return redact_url(services.journal_url)
