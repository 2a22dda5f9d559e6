"""Logging to a rotating file through a redaction filter.

Secrets, bearer tokens and anything shaped like a card number, track data or an IDTech
frame are replaced before a record is formatted, so they never reach a log line.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import threading
from collections.abc import Callable, Iterable

from console.paths import Paths

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # IDTech frames (keyboard or hex rendering): 02 + length ... 03, long hex-ish runs
    # (also a frame cut short: the reader's last characters lost, no closing 03)
    (re.compile(r"02[0-9A-Fa-f]{4}[0-9A-Fa-f%*;=?^/A-Za-z ]{40,}"), "[FRAME REDACTED]"),
    # ISO track 1 / track 2 data
    (re.compile(r"%B?\d{12,19}\^[^?]*\?"), "[TRACK REDACTED]"),
    (re.compile(r";\d{12,19}=[^?]*\?"), "[TRACK REDACTED]"),
    # card numbers: 13-19 digits, optionally separated by spaces or dashes
    (re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)"), "[PAN REDACTED]"),
    # bearer tokens and key=value secrets
    (re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"), r"\1[REDACTED]"),
    (re.compile(r"(?i)((?:password|passwd|secret|token|api[_-]?key|passphrase|pin)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}]+"),
     r"\1[REDACTED]"),
    # long hex runs (encrypted payloads, keys)
    (re.compile(r"\b[0-9A-Fa-f]{48,}\b"), "[HEX REDACTED]"),
)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    for value in secrets:
        if value and len(value) >= 4:
            text = text.replace(value, "[SECRET REDACTED]")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (args merged) and exception text through ``redact``."""

    def __init__(self, secret_source: Callable[[], Iterable[str]] | None = None):
        super().__init__()
        self._secret_source = secret_source or (lambda: ())
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string must not kill logging
            message = str(record.msg)
        secrets = list(self._secret_source())
        record.msg = redact(message, secrets)
        record.args = None
        if record.exc_info:
            formatted = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(formatted, secrets)
            record.exc_info = None
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


_configured = False


def setup_logging(paths: Paths, *, secret_source: Callable[[], Iterable[str]] | None = None,
                  level: int = logging.INFO) -> logging.Handler:
    """Rotating file in the platform log directory, every record redacted first."""
    global _configured  # noqa: PLW0603 - logging is process-wide by nature
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(paths.log_file, maxBytes=2_000_000, backupCount=5,
                                                   encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(secret_source))
    root = logging.getLogger()
    if _configured:
        for h in list(root.handlers):
            if isinstance(h, logging.handlers.RotatingFileHandler):
                root.removeHandler(h)
                h.close()
    root.addHandler(handler)
    root.setLevel(level)
    _configured = True
    return handler
