"""One date and time format for everything shown to people: views, reports, receipts and the
names of files people open. Local time, in the order the locale writes dates (month/day/year
in the US) with a four-digit year; the clock is 12-hour where the locale's is (``1:05 PM``),
24-hour elsewhere. The journal and the files exchanged with Caselle and Invoice Cloud keep
their own formats (UTC ISO 8601, the layouts' dates) — this module is only for people.

Naive datetimes are taken as UTC (the journal writes UTC); ISO 8601 strings are accepted too.
"""

from __future__ import annotations

import locale
from datetime import UTC, date, datetime
from functools import lru_cache


@lru_cache(maxsize=1)
def _locale_formats() -> tuple[str, str]:
    """(date format, time format) from the user's locale, read once."""
    date_fmt, time_fmt = "%m/%d/%Y", "%I:%M %p"  # the US office default
    try:
        current = locale.setlocale(locale.LC_TIME)
        try:
            locale.setlocale(locale.LC_TIME, "")
            d, t = locale.nl_langinfo(locale.D_FMT), locale.nl_langinfo(locale.T_FMT)
        finally:
            locale.setlocale(locale.LC_TIME, current)
    except (locale.Error, AttributeError, ValueError):  # Windows has no nl_langinfo
        return date_fmt, time_fmt
    if d and d not in ("%m/%d/%y", "%D"):  # C/POSIX and en_US write a 2-digit year: keep 4
        date_fmt = d.replace("%y", "%Y")
    if t and "%I" not in t and "%r" not in t and d not in ("%m/%d/%y", "%D"):
        time_fmt = "%H:%M"
    return date_fmt, time_fmt


def as_local(moment: datetime | str) -> datetime:
    """A moment in local time (naive values and strings without an offset are UTC)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone()


def format_date(day: date | datetime | str | None) -> str:
    """``12/07/2026`` (a datetime is shown in local time first)."""
    if day is None or day == "":
        return ""
    if isinstance(day, (datetime, str)):
        day = as_local(day)
    return day.strftime(_locale_formats()[0])


def format_time(moment: datetime | str | None, *, seconds: bool = False) -> str:
    """``1:05 PM`` (or ``13:05``) in local time."""
    if moment is None or moment == "":
        return ""
    fmt = _locale_formats()[1]
    if seconds:
        fmt = fmt.replace("%M", "%M:%S")
    text = as_local(moment).strftime(fmt)
    return text[1:] if text.startswith("0") and "%I" in fmt else text


def format_datetime(moment: datetime | str | None, *, seconds: bool = False) -> str:
    """``12/07/2026 1:05 PM`` in local time; empty for no moment."""
    if moment is None or moment == "":
        return ""
    local = as_local(moment)
    return f"{format_date(local)} {format_time(local, seconds=seconds)}"


def file_stamp(moment: datetime) -> str:
    """The local date and time in a file name people open: ``2026-12-07 1305`` sorts and reads."""
    return as_local(moment).strftime("%Y-%m-%d %H%M")
