"""The invoice-file options Invoice Cloud sets "via BIF customization": AutoPay collection date,
e-mail notification schedule and bill expiry — as columns of the invoice layout, filled from
the profile's rules when the export is built.

The rules (Settings → Invoice file options; declared in :mod:`console.config`):

- ``bif_autopay_days_before_due``: AutoPay accounts are drafted this many days before the due
  date (``AutoPayDate``; 0 = on the due date). Accounts without AutoPay get no date.
- ``bif_notify_days_before_due``: e-mail notifications this many days before the due date
  (``NotifyDate1`` … ``NotifyDate3``, earliest first; at most three).
- ``biller_expire_bill`` with ``bif_expire_days_after_due``: the bill can no longer be paid
  as is that many days after the due date (``BillExpires``); off = no expiry date.

The layout checks them (``date_order``): a collection date on or before the due date,
notification dates in order and before the due date, expiry after the due date. Pure Python.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

MAX_NOTIFICATIONS = 3
NOTIFY_COLUMNS = tuple(f"NotifyDate{i}" for i in range(1, MAX_NOTIFICATIONS + 1))


def check_notify_days(value: list) -> list:
    """Settings rule: whole numbers of days, 1–60, different, at most three."""
    days = []
    for part in value:
        text = str(part).strip()
        if not text.isdigit() or not 1 <= int(text) <= 60:
            raise ValueError(f"{text!r} is not a number of days between 1 and 60")
        days.append(int(text))
    if len(set(days)) != len(days):
        raise ValueError("the same number of days is given twice")
    if len(days) > MAX_NOTIFICATIONS:
        raise ValueError(f"at most {MAX_NOTIFICATIONS} notifications")
    return [str(d) for d in days]


def check_days(low: int, high: int):
    def check(value: int) -> int:
        if not low <= int(value) <= high:
            raise ValueError(f"must be between {low} and {high} days")
        return int(value)
    return check


@dataclass(frozen=True)
class BifRules:
    autopay_days_before_due: int = 3
    notify_days_before_due: tuple[int, ...] = (10, 3)
    expire_days_after_due: int | None = None  # None: bills do not expire

    @classmethod
    def from_profile(cls, profile) -> BifRules:
        notify = tuple(sorted((int(d) for d in profile.get("bif_notify_days_before_due") or ()), reverse=True))
        expires = int(profile.get("bif_expire_days_after_due")) if profile.get("biller_expire_bill") else None
        return cls(int(profile.get("bif_autopay_days_before_due")), notify[:MAX_NOTIFICATIONS], expires)

    def autopay_date(self, due: dt.date | None, autopay: bool) -> dt.date | None:
        """The AutoPay draft (collection) date of a bill, or None when the account has no AutoPay."""
        if due is None or not autopay:
            return None
        return due - dt.timedelta(days=self.autopay_days_before_due)

    def fill(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` (typed values of the invoice layout) with the BIF columns filled in."""
        due = row.get("DueDate")
        out = dict(row)
        out["AutoPayDate"] = self.autopay_date(due, bool(row.get("AutoPay")))
        dates = [due - dt.timedelta(days=d) for d in self.notify_days_before_due] if due else []
        for i, name in enumerate(NOTIFY_COLUMNS):
            out[name] = dates[i] if i < len(dates) else None
        out["BillExpires"] = (due + dt.timedelta(days=self.expire_days_after_due)
                              if due and self.expire_days_after_due is not None else None)
        return out
