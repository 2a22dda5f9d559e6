"""Send split bill images to Invoice Cloud through the transfer service, one file at a time,
each journaled exactly once by ``console.services.transfer`` (a file already delivered is
reported, never sent twice). A failure is recorded per bill and the run goes on; after a
few network failures in a row it stops (the connection is down), and a cancel stops it.
Either way every bill gets an outcome the Bill Images tab can show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from console.bills.service import images_sent
from console.bills.split import SplitResult
from console.errors import Cancelled, NetworkError, UserFacingError

log = logging.getLogger(__name__)

MAX_NETWORK_FAILURES_IN_A_ROW = 3
SENT, ALREADY_SENT, FAILED, NOT_SENT = "sent", "already sent", "failed", "not sent"


@dataclass(frozen=True)
class SendOutcome:
    account: str
    file_name: str
    status: str  # sent | already sent | failed | not sent
    message: str = ""
    remote_path: str = ""


@dataclass
class SendReport:
    outcomes: list[SendOutcome] = field(default_factory=list)
    cancelled: bool = False
    stopped: str = ""  # why the run stopped early, if it did

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def summary(self) -> str:
        parts = [f"{self.count(SENT)} sent"]
        for status in (ALREADY_SENT, FAILED, NOT_SENT):
            if self.count(status):
                parts.append(f"{self.count(status)} {status}")
        text = ", ".join(parts)
        if self.cancelled:
            text += " (cancelled)"
        elif self.stopped:
            text += f" ({self.stopped})"
        return text


def bills_to_send(result: SplitResult) -> list[tuple[str, str, Path]]:
    """(account, file name, local path) of the bills that go to Invoice Cloud: the written
    ones, except images without an invoice when an invoice file was loaded."""
    return [(f.account, f.file_name, result.path_of(f)) for f in result.written if f.status == "ok"]


def send_bills(result: SplitResult, transfer, *, operator: str, profile=None,
               progress: Callable[..., None] | None = None, cancel=None) -> SendReport:
    """Send every bill of ``result`` with ``transfer`` (a ``TransferService``); ``operator``
    must be allowed ``send_bills`` under ``profile``."""
    from console.services.operators import require

    if profile is None:
        from console.errors import NotPermitted

        raise NotPermitted("Sending bills needs the profile whose roles say who may send them")
    require(profile, operator, "send_bills", getattr(transfer, "audit", None))
    if not images_sent(profile):
        raise UserFacingError("This profile uses Invoice Cloud's own bill template: bill images are not sent",
                              hint="change Bill presentment in Settings to send PDF images")
    from console.adapters.transfer import HostKeyChanged, HostKeyUnknown
    from console.errors import AuthError
    from console.services.transfer import AlreadySent

    connection_level = (HostKeyUnknown, HostKeyChanged, AuthError)
    todo = bills_to_send(result)
    if hasattr(transfer, "send_files"):  # one connection for the whole batch
        return _send_batch(todo, transfer, operator=operator, progress=progress, cancel=cancel)
    report = SendReport()
    total = len(todo)
    network_failures = 0
    for n, (account, name, path) in enumerate(todo):
        if cancel is not None and cancel.is_set():
            report.cancelled = True
        if report.cancelled or report.stopped:
            report.outcomes.append(SendOutcome(account, name, NOT_SENT))
            continue
        if progress is not None:
            progress(n, total, f"Sending {name} ({n + 1} of {total})")
        try:
            res = transfer.send_file(path, kind="bills", operator=operator, final_name=name, cancel=cancel)
        except Cancelled:
            report.cancelled = True
            report.outcomes.append(SendOutcome(account, name, NOT_SENT, "cancelled"))
            continue
        except connection_level as exc:
            # not about this bill: the server or the credentials. Before anything was sent the
            # caller handles it (trust the host key, fix the password) and starts again.
            if not report.outcomes:
                raise
            report.outcomes.append(SendOutcome(account, name, FAILED, str(exc)))
            report.stopped = f"stopped: {exc}"
            continue
        except NetworkError as exc:
            network_failures += 1
            report.outcomes.append(SendOutcome(account, name, FAILED, str(exc)))
            if network_failures >= MAX_NETWORK_FAILURES_IN_A_ROW:
                report.stopped = f"stopped after {network_failures} network failures in a row"
            continue
        except UserFacingError as exc:
            network_failures = 0
            if isinstance(exc, AlreadySent):
                report.outcomes.append(SendOutcome(account, name, ALREADY_SENT, str(exc)))
            else:
                report.outcomes.append(SendOutcome(account, name, FAILED, str(exc)))
            continue
        network_failures = 0
        report.outcomes.append(SendOutcome(account, name, SENT, "", getattr(res, "remote_path", "")))
    if progress is not None:
        progress(total, total, report.summary)
    log.info("bill images send: %s", report.summary)
    return report


def _send_batch(todo: list[tuple[str, str, Path]], transfer, *, operator: str,
                progress: Callable[..., None] | None, cancel) -> SendReport:
    """``TransferService.send_files``: the same outcomes, over one connection."""
    from console.services.transfer import BatchCancelled

    report = SendReport()
    try:
        batch = transfer.send_files([(path, name) for _acc, name, path in todo], kind="bills",
                                    operator=operator, progress=progress, cancel=cancel)
    except BatchCancelled as exc:
        batch = exc.batch
        report.cancelled = True
    by_name: dict[str, SendOutcome] = {}
    for res in batch.sent:
        by_name[res.remote_name] = SendOutcome("", res.remote_name, SENT, "", res.remote_path)
    for path, entry in batch.already_sent:
        when = (getattr(entry, "updated_at", "") or "")[:16].replace("T", " ")
        by_name[Path(path).name] = SendOutcome("", Path(path).name, ALREADY_SENT, f"already sent {when} UTC")
    for path, exc in batch.failed:
        by_name[Path(path).name] = SendOutcome("", Path(path).name, FAILED, str(exc))
    for path in batch.not_attempted:
        by_name[Path(path).name] = SendOutcome("", Path(path).name, NOT_SENT)
    if batch.not_attempted and not report.cancelled:
        report.stopped = "stopped: the connection was lost"
    for account, name, _path in todo:
        o = by_name.get(name, SendOutcome("", name, NOT_SENT))
        report.outcomes.append(SendOutcome(account, name, o.status, o.message, o.remote_path))
    if progress is not None:
        progress(len(todo), len(todo), report.summary)
    log.info("bill images send: %s", report.summary)
    return report


DELIVERED, AWAITING, MISSING = "delivered", "awaiting pickup", "missing"


def check_delivery(report: SendReport, transfer) -> dict[str, str]:
    """Where each sent bill is now, from one listing of the bills folder: still under its
    name (awaiting pickup), renamed to ``.snt`` by Stratus (delivered), or gone (missing)."""
    names = [o.file_name for o in report.outcomes if o.status in (SENT, ALREADY_SENT)]
    if not names:
        return {}
    present = {f.name for f in transfer.list_folder(transfer.folder_for("bills"))}
    out = {}
    for name in names:
        stem = name.rsplit(".", 1)[0]
        if name in present:
            out[name] = AWAITING
        elif f"{name}.snt" in present or f"{stem}.snt" in present:
            out[name] = DELIVERED
        else:
            out[name] = MISSING
    return out


def transfer_service_for(services):
    """The transfer service of the composition root (built here if it does not offer one)."""
    existing = getattr(services, "transfer", None)
    if existing is not None:
        return existing
    from console.services.transfer import build_transfer_service

    return build_transfer_service(services.profile, services.secrets, services.paths, services.journal,
                                  endpoints=services.endpoints, audit=getattr(services, "audit", None))
