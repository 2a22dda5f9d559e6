"""Send a file from a tab: the controller between a Send button and ``Services.transfer``.

    sender = TransferSender(self, ctx.services, ctx.operator, kind="invoices")
    panel = TransferPanel(sender)                 # progress, Cancel, delivery status, warnings
    send_button.clicked.connect(lambda: sender.send(path))

What it does (all work through ``Operation``, never a thread of its own):

- runs ``send_file`` with progress and cancel;
- an unknown SFTP host key → :func:`~console.ui.host_key_dialog.ask_trust_host_key`; only an
  explicit "Trust this host" pins it (audited), then the send is tried again;
- a file already delivered → :func:`~console.ui.transfer_override_dialog.ask_supervisor_override`;
  an approving supervisor (ID + PIN) sends it again (journaled and audited);
- after the upload it polls the delivery status ("awaiting pickup" → "delivered" once
  Stratus renamed the file to ``.snt``) until delivered or ``poll_limit`` polls; the interval
  starts at ``poll_ms`` and grows by half each poll up to ``max_poll_ms`` (one SSH login per
  poll: a pickup that takes an hour must not mean 1,800 logins on the provider's server);
- every other error goes to ``show_error`` (a changed host key is refused loudly there).

``ask_trust`` and ``ask_override`` (the two modal questions) are plain attributes, so a test
or a kiosk build can replace them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from console.adapters.transfer import DeliveryStatus, HostKeyChanged, HostKeyUnknown
from console.config import Operator
from console.errors import Cancelled
from console.services.transfer import AlreadySent, SendResult
from console.ui.errors import show_error
from console.ui.host_key_dialog import ask_trust_host_key, show_host_key_changed
from console.ui.operations import Operation
from console.ui.transfer_override_dialog import ask_supervisor_override

log = logging.getLogger(__name__)

_CANCELLED = object()
OVERRIDE_ACTION = "transfer.override"

AskTrust = Callable[[QWidget | None, HostKeyUnknown], bool]
AskOverride = Callable[..., Operator | None]


class TransferSender(QObject):
    started = Signal(str)  # file name
    progressed = Signal(int, object, str)  # done, total, message
    sent = Signal(object)  # SendResult
    delivery_changed = Signal(str)  # "awaiting pickup" | "delivered" | "missing" | "unknown"
    finished = Signal(bool)  # True = sent (or found already delivered), False = not sent
    message = Signal(str)  # one line for the operator (not an error)
    asking = Signal(str)  # a modal question is open (trust a host key, a supervisor's override): no progress

    def __init__(self, parent: QWidget, services: Any, operator: Operator | None, *, kind: str = "invoices",
                 ask_trust: AskTrust = ask_trust_host_key, ask_override: AskOverride = ask_supervisor_override,
                 poll_ms: int = 2000, poll_limit: int = 200, max_poll_ms: int = 60_000):
        super().__init__(parent)
        self._parent = parent
        self._services = services
        self._operator = operator
        self.kind = kind
        self.ask_trust = ask_trust
        self.ask_override = ask_override
        self._op: Operation | None = None
        self._poll_op: Operation | None = None
        self._polls = 0
        self.poll_limit = poll_limit
        self.result: SendResult | None = None
        self.delivery: str = ""
        self._expected: str | None = None
        self.poll_ms = poll_ms
        self.max_poll_ms = max_poll_ms
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)
        self._polling = False

    # ---- state
    @property
    def busy(self) -> bool:
        return self._op is not None

    @property
    def polling(self) -> bool:
        return self._polling

    @property
    def operator_id(self) -> str:
        return self._operator.operator_id if self._operator else ""

    # ---- sending
    def send(self, path: Path | str, *, override_by: Operator | None = None,
             expected_sha256: str | None = None) -> None:
        """Send ``path``; ``expected_sha256`` (the checked file's fingerprint) refuses a changed file."""
        if self.busy:
            return
        path = Path(path)
        self.stop_polling()
        self.result = None
        services, kind, operator_id = self._services, self.kind, self.operator_id

        def work(op):
            try:
                return services.transfer.send_file(path, kind=kind, operator=operator_id,
                                                   override=override_by is not None, override_by=override_by,
                                                   expected_sha256=expected_sha256,
                                                   progress=op.progress, cancel=op.cancel_event)
            except Cancelled:
                return _CANCELLED

        self._expected = expected_sha256
        self.started.emit(path.name)
        self._op = (Operation(self._parent, work, label=f"Sending {path.name}…", cancellable=True)
                    .on_progress(self.progressed.emit)
                    .success(lambda result: self._on_sent(path, result))
                    .failure(lambda exc: self._on_failed(path, exc)))
        self._op.run()

    def cancel(self) -> None:
        if self._op is not None:
            self._op.cancel()

    def _on_sent(self, path: Path, result: Any) -> None:
        self._op = None
        if result is _CANCELLED:
            self.message.emit(f"{path.name} was not sent (cancelled); nothing is left on the server.")
            self.finished.emit(False)
            return
        self.result = result
        self.sent.emit(result)
        if result.reconciled:
            self.message.emit(f"{result.remote_name} had already reached the server; it was not sent twice.")
        self._set_delivery(str(result.status))
        self.finished.emit(True)
        if result.status != DeliveryStatus.DELIVERED:
            self._polls = 0
            self._polling = True
            self._timer.start(self.poll_ms)

    def _on_failed(self, path: Path, exc: BaseException) -> None:
        self._op = None
        if isinstance(exc, HostKeyUnknown):
            self.asking.emit("Waiting for the operator to check the server's host key…")
            if self.ask_trust(self._parent, exc):
                self._trust_then_send(path, exc)
                return
            self.message.emit("Not sent: the server's host key was not trusted.")
        elif isinstance(exc, AlreadySent):
            self.asking.emit(f"{path.name} was already sent: waiting for a supervisor…")
            supervisor = self.ask_override(self._parent, exc, self._approve, file_name=path.name)
            if supervisor is not None:
                self.send(path, override_by=supervisor, expected_sha256=self._expected)
                return
            self.message.emit(f"Not sent: {path.name} was already sent and no supervisor approved sending it again.")
        elif isinstance(exc, HostKeyChanged):
            show_host_key_changed(self._parent, exc)
            self.message.emit("Not sent: the server's host key has changed (see the warning).")
        else:
            show_error(self._parent, exc)
        self.finished.emit(False)

    def _approve(self, supervisor_id: str, pin: str) -> Operator:
        return self._services.operators.approve(supervisor_id, pin, for_action=OVERRIDE_ACTION, by=self.operator_id)

    def _trust_then_send(self, path: Path, error: HostKeyUnknown) -> None:
        services, operator_id = self._services, self.operator_id
        self._op = (Operation(self._parent, lambda op: services.transfer.trust_host_key(error, operator=operator_id),
                              label="Pinning the server's host key…")
                    .success(lambda fp: self._after_trust(path, fp))
                    .failure(lambda exc: self._after_trust_failed(exc)))
        self._op.run()

    def _after_trust(self, path: Path, fingerprint: str) -> None:
        self._op = None
        self.message.emit(f"Trusted host key {fingerprint}.")
        self.send(path, expected_sha256=self._expected)

    def _after_trust_failed(self, exc: BaseException) -> None:
        self._op = None
        show_error(self._parent, exc)
        self.finished.emit(False)

    # ---- delivery status
    def _set_delivery(self, status: str) -> None:
        self.delivery = status
        self.delivery_changed.emit(status)

    def stop_polling(self) -> None:
        self._polling = False
        self._timer.stop()

    def set_poll_interval(self, ms: int, max_ms: int | None = None) -> None:
        """First interval (and the ceiling it grows to) between delivery checks."""
        self.poll_ms = int(ms)
        self.max_poll_ms = int(max_ms) if max_ms is not None else max(self.max_poll_ms, self.poll_ms)
        self._timer.setInterval(self.poll_ms)

    def _schedule_next_poll(self) -> None:
        if not self._polling:
            return
        grown = min(self.max_poll_ms, max(self.poll_ms, int(self._timer.interval() * 1.5)))
        self._timer.start(grown)

    def poll_now(self) -> None:
        """Check the delivery status once now (a Refresh), polling or not."""
        self._poll(once=True)

    def _poll(self, *, once: bool = False) -> None:
        result = self.result
        if result is None or self._poll_op is not None or not (self._polling or once):
            return
        self._polls += 1
        if self._polls > self.poll_limit:
            self.stop_polling()
            return
        services = self._services
        self._poll_op = (Operation(self._parent, lambda op: services.transfer.delivery_status(result))
                         .success(self._on_polled)
                         .failure(self._on_poll_failed))
        self._poll_op.run()

    def _on_polled(self, status: Any) -> None:
        self._poll_op = None
        status = str(status)
        if status != self.delivery:
            self._set_delivery(status)
        if status == DeliveryStatus.DELIVERED:
            self.stop_polling()
        else:
            self._schedule_next_poll()

    def _on_poll_failed(self, exc: BaseException) -> None:
        self._poll_op = None
        log.info("delivery status check failed: %s", exc)
        if self.delivery != "unknown":
            self._set_delivery("unknown")
        self._schedule_next_poll()
