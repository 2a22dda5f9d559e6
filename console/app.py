"""The composition root: builds the services for one profile. No global singletons.

``build_services()`` is cheap; each service is constructed on first use (cached per
``Services`` object), so the GUI starts fast and the CLI builds only what a command needs.
With the sandbox profile, the first service that needs a remote starts (or finds) the
embedded sandbox and takes its URLs and demo credentials from it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from console.config import Profile, ProfileStore
from console.paths import Paths
from console.secrets import SecretStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a tab or a CLI command may use, built for one profile."""

    paths: Paths
    profile: Profile
    secrets: SecretStore
    operator_id: str = ""
    overrides: dict[str, Any] = field(default_factory=dict)  # tests inject endpoints etc.

    # ---- sandbox / endpoints ------------------------------------------------------------
    @cached_property
    def endpoints(self) -> dict[str, Any]:
        """URLs and connection facts for this profile (the sandbox's when in training)."""
        if "endpoints" in self.overrides:
            return self.overrides["endpoints"]
        if not self.profile.is_sandbox:
            p = self.profile
            return {
                "caselle_url": p.caselle_url,
                "ic_api_url": p.invoicecloud_api_url,
                "ic_gateway_url": p.invoicecloud_gateway_url,
                "transfer_host": p.transfer_host,
                "transfer_port": p.transfer_port,
                "smtp_host": p.smtp_host,
                "smtp_port": p.smtp_port,
            }
        from console.sandbox.runner import ensure_sandbox

        return ensure_sandbox(self.paths).as_dict()

    # ---- Caselle Connect ------------------------------------------------------------------
    @cached_property
    def caselle(self):
        """The Caselle Connect client (gql), token from the keyring (the sandbox's demo token in training)."""
        if "caselle" in self.overrides:
            return self.overrides["caselle"]
        from console.adapters.caselle import CaselleClient, StoredToken

        ep = self.endpoints
        timeout = float(self.overrides.get("caselle_timeout", self.profile.get("caselle_timeout_s") or 20))
        token = StoredToken(self.secrets, token_url=ep.get("caselle_token_url"),
                            client_id=ep.get("caselle_client_id") or self.profile.get("caselle_client_id"),
                            client_secret=ep.get("caselle_client_secret"))
        return CaselleClient(ep["caselle_url"], token, timeout=timeout, operator=self.operator_id)

    # ---- journal, audit, operators, posting ------------------------------------------------
    @cached_property
    def journal_url(self) -> str:
        """``sqlite`` (this PC's file) or the office's ``postgresql://`` journal:
        ``$BILLER_CONSOLE_JOURNAL_URL`` when set, else the profile's ``journal_url``."""
        from console.config import JOURNAL_SQLITE, JOURNAL_URL_ENV

        return (os.environ.get(JOURNAL_URL_ENV) or "").strip() or self.profile.get("journal_url") or JOURNAL_SQLITE

    @property
    def journal_is_server(self) -> bool:
        from urllib.parse import urlsplit  # not console.adapters.pg: psycopg loads only for a server journal

        return bool(self.journal_url) and urlsplit(str(self.journal_url)).scheme in ("postgresql", "postgres")

    @cached_property
    def journal_db(self):
        """The PostgreSQL connection pool (None with the SQLite journal). An unreachable server
        raises ``JournalUnavailable``: there is no fallback to a local journal."""
        if not self.journal_is_server:
            return None
        from console.adapters.pg import PgDatabase
        from console.secrets import JOURNAL_PASSWORD

        return PgDatabase(self.journal_url, password=self.secrets.get(JOURNAL_PASSWORD))

    @cached_property
    def journal(self):
        if self.journal_is_server:
            from console.adapters.journal_pg import PgJournal

            return PgJournal(self.journal_db)
        from console.adapters.journal import SqliteJournal

        return SqliteJournal(self.paths.journal_file)

    @cached_property
    def journal_guard(self):
        """The audit chain's key and anchor, the journal's identity, the check before posting."""
        from console.services.journal_guard import JournalGuard

        return JournalGuard(self.paths.journal_file, self.paths.config_dir, self.secrets,
                            sandbox=self.profile.is_sandbox)

    @cached_property
    def audit(self):
        """The keyed audit log (a first start keys it; see console.services.journal_guard); on a
        journal server, the server's hash-chained audit table (its keyed form is still to come)."""
        if self.journal_is_server:
            from console.adapters.stores_pg import PgAuditLog

            return PgAuditLog(self.journal_db)
        return self.journal_guard.audit

    def journal_ready(self) -> None:
        """Before posting or taking a payment: the journal guard's check (raises JournalRefused
        with what it found), then the daily backup when the newest is older than a day. A journal
        server answers for itself (an unreachable one refuses every call); the guard's identity,
        anchor and backup are the local SQLite journal's and have no server form yet."""
        if self.journal_is_server:
            self.journal.counts()  # raises a clear JournalError when the server cannot be reached
            return
        self.journal_guard.require_ok()
        self._backup_if_due()

    def audit_anchor(self) -> str:
        """The audit anchor's one line for reports ("Audit anchor: 1,234 entries, head 9f3a…");
        "" when it cannot be read (the reports still print, the check says why)."""
        try:
            if self.journal_is_server:
                return self.journal_check().anchor
            return self.journal_guard.anchor_summary()
        except Exception:  # noqa: BLE001 - a report never fails for its anchor line
            log.warning("the audit anchor could not be read for a report", exc_info=True)
            return ""

    def journal_check(self):
        """The journal guard's check (a GuardStatus); on a journal server, the server's audit chain
        verified, as a GuardStatus (the server forms of the key, anchor and identity are to come)."""
        if not self.journal_is_server:
            return self.journal_guard.check()
        from console.services.journal_guard import GuardStatus

        v = self.audit.verify()
        return GuardStatus(() if v.ok else (str(v),), "none (journal server)",
                           f"Audit chain: {v.rows:,} entries on the journal server", "the journal server")

    def journal_start_check(self):
        """At start (the GUI, off its thread): the guard's check (a GuardStatus, not raised) and,
        when it passes, the daily backup if due."""
        if self.journal_is_server:
            return None
        status = self.journal_guard.check()
        if status.ok:
            self._backup_if_due()
        return status

    def _backup_if_due(self) -> None:
        from console.errors import UserFacingError
        from console.services.journal_backup import backup_folder, backup_if_due

        try:
            backup_if_due(self.paths.journal_file, backup_folder(self.paths, self.profile),
                          keep=int(self.profile.get("journal_backup_keep")))
        except (OSError, UserFacingError) as exc:  # shown by Diagnostics (the newest backup's age)
            log.error("the daily journal backup failed: %s", exc)

    @cached_property
    def lockbox_registry(self):
        """Which CloudStore items went out in a lockbox file (in the journal's database)."""
        if self.journal_is_server:
            from console.adapters.stores_pg import PgLockboxRegistry

            return PgLockboxRegistry(self.journal_db)
        from console.lockbox.registry import SqliteLockboxRegistry

        return SqliteLockboxRegistry(self.paths.journal_file)

    @cached_property
    def drawer_store(self):
        """Cash drawer sessions (in the journal's database: every window sees every drawer)."""
        if self.journal_is_server:
            from console.adapters.stores_pg import PgDrawerStore

            return PgDrawerStore(self.journal_db)
        from console.services.drawer_store import DrawerStore

        return DrawerStore(self.paths.journal_file)

    def shared_ksn_store(self, days: int):
        """The card-read memory on the journal server (every window shares it); None with the
        SQLite journal, where each PC keeps ``reader_ksns.sqlite3`` in its data folder."""
        if not self.journal_is_server:
            return None
        from console.adapters.stores_pg import PgKsnStore

        return PgKsnStore(self.journal_db, days=days)

    @cached_property
    def operators(self):
        from console.services.operators import OperatorService

        return OperatorService(self.profile, self.audit, failures=self.journal)  # wrong PINs count in the journal

    @cached_property
    def gl_mapping(self):
        """The one GL mapping (item code -> GL account) every view reads; edits and imports audited."""
        from console.services.gl_mapping import GlMappingService

        return GlMappingService(self)

    @cached_property
    def posting(self):
        from console.services.posting import PostingService

        service = PostingService(self.journal, lambda: self.caselle, self.profile, self.audit,
                                 inbox_dir=self.paths.data_dir / "inbox")
        service.preflight = self.journal_ready
        return service

    @cached_property
    def gateway(self):
        """The card gateway (Invoice Cloud's; the sandbox's stand-in in training)."""
        if "gateway" in self.overrides:
            return self.overrides["gateway"]
        from console.adapters.gateway import gateway_from_services

        return gateway_from_services(self)

    @cached_property
    def counter(self):
        """Counter payments: account search, amount rules, card authorization, receipt, void."""
        if "counter" in self.overrides:
            return self.overrides["counter"]
        from console.services.counter import build_counter_service

        return build_counter_service(self)

    @cached_property
    def drawers(self):
        """Cash drawer sessions: float, close-out, reopen (a table in the journal file)."""
        if "drawers" in self.overrides:
            return self.overrides["drawers"]
        from console.services.drawer import build_drawer_service

        return build_drawer_service(self, clock=self.overrides.get("clock"))

    @cached_property
    def day_close(self):
        """The daily close: every channel of a day side by side, sealed by a supervisor."""
        from console.services.day_close import build_day_close_service

        return build_day_close_service(self)

    @cached_property
    def reversals(self):
        """Returned counter checks reversed in Caselle (supervisors), exactly once."""
        from console.services.reversals import build_reversal_service

        return build_reversal_service(self)

    @cached_property
    def transfer(self):
        """Sends files to Invoice Cloud (SFTP/FTPS/FTP), journaled; the sandbox's SFTP in training."""
        if "transfer" in self.overrides:
            return self.overrides["transfer"]
        from console.services.transfer import build_transfer_service

        return build_transfer_service(self.profile, self.secrets, self.paths, self.journal,
                                      endpoints=self.endpoints, audit=self.audit)

    @cached_property
    def lockbox(self):
        """CloudStore lockbox files: preview, build (verified), check, send (Stratus or e-mail), summary."""
        if "lockbox" in self.overrides:
            return self.overrides["lockbox"]
        from console.services.lockbox import build_lockbox_service

        return build_lockbox_service(self)

    @cached_property
    def account_sync(self):
        """Caselle adjustments to Invoice Cloud balance updates, exactly once (API or file)."""
        if "account_sync" in self.overrides:
            return self.overrides["account_sync"]
        from console.services.account_sync import build_account_sync_service

        return build_account_sync_service(self)

    @cached_property
    def conveyances(self):
        """Conveyances: the old owner's Invoice Cloud enrollment ends, exactly once."""
        if "conveyances" in self.overrides:
            return self.overrides["conveyances"]
        from console.services.conveyance import build_conveyance_service

        return build_conveyance_service(self)

    @cached_property
    def conversions(self):
        """ic-conversion-v1 files (paperless, AutoPay, registration) from Caselle customers."""
        if "conversions" in self.overrides:
            return self.overrides["conversions"]
        from console.services.conversions import build_conversion_service

        return build_conversion_service(self)

    def close(self) -> None:
        """Release connections and stop an embedded sandbox this object started."""
        for name in ("lockbox", "gateway", "caselle", "drawers", "journal", "audit", "journal_guard",
                     "lockbox_registry", "drawer_store", "journal_db"):
            obj = self.__dict__.get(name)
            if obj is not None and hasattr(obj, "close"):
                try:
                    obj.close()
                except Exception:  # noqa: BLE001 - closing must not raise
                    log.exception("closing %s failed", name)


def build_services(profile_name: str | None = None, *, paths: Paths | None = None,
                   secret_backend=None, operator_id: str = "", **overrides: Any) -> Services:
    paths = (paths or Paths.default()).ensure()
    from console.services.gl_mapping import with_stored_gl_map

    profile = with_stored_gl_map(ProfileStore(paths).load(profile_name), paths)  # one GL mapping for all views
    secrets = SecretStore(profile.name, backend=secret_backend)
    return Services(paths=paths, profile=profile, secrets=secrets, operator_id=operator_id, overrides=overrides)
