"""The settings dialog, generated from ``console.config.FIELDS`` — one page per section.

Each setting gets an editor for its kind, its help as a tooltip and a line under it where
``config.validate`` problems are shown. Secrets are typed into password fields and stored
only through ``SecretStore`` (never in the profile). The sandbox is read-only; it offers to
create a production profile from its settings. Saving goes through ``ProfileStore.save``
and is audited when the audit service exists. Only supervisors and support may change
settings; other operators see them read-only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console import secrets as sec
from console.config import (
    FIELDS,
    ROLES,
    SANDBOX,
    Operator,
    Profile,
    ProfileStore,
    coerce,
    hash_pin,
    validate,
)
from console.domain.wording import counted
from console.errors import Problem
from console.services.gl_mapping import AUDIT_GL_MAP, gl_changes
from console.ui.errors import show_error
from console.ui.operations import Operation
from console.ui.profile_dialogs import ProfilePicker, SessionSecretsDialog  # noqa: F401 - used from here
from console.ui.settings_fields import FieldEditor, SectionPages

log = logging.getLogger(__name__)

SECTION_TITLES = {
    "caselle": "Caselle", "invoicecloud": "Invoice Cloud", "transfer": "Transfer", "lockbox": "Lockbox",
    "smtp": "E-mail", "biller": "Biller options", "bills": "Bill images", "sync": "Account sync",
    "reader": "Card reader", "bif": "Invoice file options", "cash": "Cash drawer", "confirm": "Confirmations",
}
SECRET_LABELS = {
    sec.CASELLE_CLIENT_SECRET: ("caselle", "Client secret"),
    sec.CASELLE_TOKEN: ("caselle", "OAuth token"),
    sec.IC_WEB_SERVICE_KEY: ("invoicecloud", "Web-service key"),
    sec.TRANSFER_PASSWORD: ("transfer", "Password"),
    sec.TRANSFER_KEY_PASSPHRASE: ("transfer", "Key passphrase"),
    sec.SMTP_PASSWORD: ("smtp", "SMTP password"),
    sec.AUTOMATION_SECRET: ("roles", "Automation operator secret (its PIN)"),
}
ERROR_STYLE = "color:#b91c1c;"


def section_title(section: str) -> str:
    return SECTION_TITLES.get(section, section.replace("_", " ").title())


class SettingsDialog(QDialog):
    saved = Signal(str)  # profile name

    def __init__(self, ctx, parent: QWidget | None = None, *,
                 secret_store_factory: Callable[[str], Any] | None = None,
                 ask_name: Callable[[QWidget, str], str | None] | None = None):
        super().__init__(parent)
        self.ctx = ctx
        self.services = ctx.services
        self.store = ProfileStore(self.services.paths)
        self.original: Profile = self.services.profile
        self.name = self.original.name
        # share the session's keyring backend without finding it here (finding it probes D-Bus):
        # a new profile's store finds its own, on first use, on a worker
        backend = getattr(self.services.secrets, "_backend_value", None)
        backend = None if backend is getattr(sec.SecretStore, "_UNSET", None) else backend
        self._secret_store_factory = secret_store_factory or (
            lambda name: self.services.secrets if name == self.original.name else sec.SecretStore(name, backend=backend))
        self._ask_name = ask_name or _ask_profile_name
        self.problems: list[Problem] = []
        self._loading = True
        self.save_op = None  # the running save (an Operation), if any
        self.secrets_op: Operation | None = None  # the latest look-up of the stored credentials
        self.editors: dict[str, FieldEditor] = {}
        self.secret_edits: dict[str, QLineEdit] = {}
        self.may_edit = _may_edit_settings(self.services, ctx.operator)
        self.setObjectName("settings-dialog")
        self.setMinimumSize(820, 560)
        self.setStyleSheet('QLineEdit[readOnly="true"] { background: palette(window); }'
                           "QListWidget#settings-sections::item { padding: 5px 8px; }")

        lay = QVBoxLayout(self)
        self.notice = QLabel()
        self.notice.setObjectName("settings-notice")
        self.notice.setWordWrap(True)
        lay.addWidget(self.notice)
        self.pages = SectionPages()
        self.pages.setObjectName("settings-pages")
        lay.addWidget(self.pages, 1)
        self._build_field_pages()
        self._build_secrets_page()
        self._build_gl_page()
        self._build_operators_page()
        self.summary = QLabel()
        self.summary.setObjectName("settings-summary")
        self.summary.setStyleSheet(ERROR_STYLE)
        self.summary.setWordWrap(True)
        lay.addWidget(self.summary)

        bottom = QHBoxLayout()
        self.make_default = QCheckBox("Use this profile when the console starts")
        bottom.addWidget(self.make_default)
        bottom.addStretch(1)
        self.create_button = QPushButton("Create a production profile from these settings…")
        self.create_button.setObjectName("create-production")
        self.create_button.setAutoDefault(False)
        self.create_button.clicked.connect(self._on_create_button_clicked)
        bottom.addWidget(self.create_button)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        bottom.addWidget(self.buttons)
        lay.addLayout(bottom)

        self._load(self.original)
        self._loading = False
        for editor in self.editors.values():
            editor.changed_signal().connect(self._on_any_changed)
        self.gl_table.model().rowsRemoved.connect(self._on_any_changed)
        self.op_table.model().rowsRemoved.connect(self._on_any_changed)
        self._update_mode()
        self.revalidate()

    # ---- pages --------------------------------------------------------------------------
    def _scroll_page(self, title: str) -> QFormLayout:
        inner = QWidget()
        form = QFormLayout(inner)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.ExpandingFieldsGrow)
        form.setVerticalSpacing(10)
        form.setContentsMargins(16, 16, 16, 16)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(inner)
        self.pages.addTab(scroll, title)
        return form

    def _build_field_pages(self) -> None:
        forms: dict[str, QFormLayout] = {}
        for s in FIELDS:
            if s.section not in forms:
                forms[s.section] = self._scroll_page(section_title(s.section))
            editor = FieldEditor(s)
            self.editors[s.name] = editor
            label = QLabel(("" if s.kind == "bool" else s.label) + ("" if s.kind == "bool" else ":"))
            label.setBuddy(editor.widget)
            if s.kind == "bool":
                editor.widget.setText(s.label)
                editor.help_label.setText(s.help)
                editor.help_label.setVisible(bool(s.help))
            forms[s.section].addRow(label, editor.container)
        if "transfer" in forms:
            self._add_transfer_test_row(forms["transfer"])

    def _add_transfer_test_row(self, form: QFormLayout) -> None:
        """Settings → Transfer: "Test connection…" opens the transfer connection dialog."""
        self.transfer_test_button = QPushButton("Test connection…")
        self.transfer_test_button.setObjectName("transfer-test-connection")
        self.transfer_test_button.setAutoDefault(False)
        self.transfer_test_button.clicked.connect(self._on_transfer_test_clicked)
        self.transfer_dialog = None  # the open TransferConnectionDialog, if any
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 8, 0, 0)
        col.setSpacing(2)
        row = QHBoxLayout()
        row.addWidget(self.transfer_test_button)
        row.addStretch(1)
        col.addLayout(row)
        note = QLabel("Signs in with the values on this page, saved or not (and a password or key passphrase "
                      "typed on the Credentials page), and shows the server's host key and the remote folders. "
                      "Nothing is sent.")
        note.setObjectName("transfer-test-note")
        note.setWordWrap(True)
        note.setStyleSheet("color:palette(placeholder-text);")
        col.addWidget(note)
        form.addRow("", box)

    def _build_secrets_page(self) -> None:
        form = self._scroll_page("Credentials")
        self.secrets_note = QLabel()
        self.secrets_note.setWordWrap(True)
        form.addRow(self.secrets_note)
        for name, (section, label) in SECRET_LABELS.items():
            edit = QLineEdit()
            edit.setObjectName(f"secret-{name}")
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setToolTip("Stored in the system keyring only; leave empty to keep the current value")
            self.secret_edits[name] = edit
            form.addRow(f"{section_title(section)} — {label}:", edit)

    def _build_gl_page(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(QLabel("GL account for each CloudStore item code (lockbox)."))
        self.gl_table = QTableWidget(0, 2)
        self.gl_table.setObjectName("gl-map")
        self.gl_table.setHorizontalHeaderLabels(["Item code", "GL account"])
        self.gl_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.gl_table.verticalHeader().setVisible(False)
        self.gl_table.itemChanged.connect(self._on_any_changed)
        lay.addWidget(self.gl_table, 1)
        self.gl_buttons = _add_remove_row(lay, self.gl_table, lambda: self._add_gl_row("", ""))
        self.pages.addTab(page, "GL accounts")

    def _build_operators_page(self) -> None:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(QLabel("Operators sign in with their ID and PIN. PINs are stored only as salted hashes."))
        self.op_table = QTableWidget(0, 4)
        self.op_table.setObjectName("operators")
        self.op_table.setHorizontalHeaderLabels(["Operator ID", "Name", "Role", "PIN"])
        self.op_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.op_table.verticalHeader().setVisible(False)
        self.op_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.op_table.itemChanged.connect(self._on_any_changed)
        lay.addWidget(self.op_table, 1)
        row = QHBoxLayout()
        self.op_buttons = _add_remove_row(row, self.op_table, lambda: self._add_operator_row(Operator("", "", "cashier")))
        self.set_pin_button = QPushButton("Set PIN…")
        self.set_pin_button.setAutoDefault(False)
        self.set_pin_button.clicked.connect(self._on_set_pin_clicked)
        row.addWidget(self.set_pin_button)
        row.addStretch(1)
        lay.addLayout(row)
        self.pages.addTab(page, "Operators")

    def _add_gl_row(self, item: str, gl: str) -> None:
        t = self.gl_table
        blocked = t.blockSignals(True)
        r = t.rowCount()
        t.insertRow(r)
        t.setItem(r, 0, QTableWidgetItem(item))
        t.setItem(r, 1, QTableWidgetItem(gl))
        t.blockSignals(blocked)
        self._after_rows_changed()

    def _after_rows_changed(self) -> None:
        if not self._loading:
            self.revalidate()

    def _add_operator_row(self, op: Operator) -> None:
        t = self.op_table
        blocked = t.blockSignals(True)
        r = t.rowCount()
        t.insertRow(r)
        t.setItem(r, 0, QTableWidgetItem(op.operator_id))
        t.setItem(r, 1, QTableWidgetItem(op.name))
        combo = QComboBox()
        combo.addItems(list(ROLES))
        combo.setCurrentIndex(max(0, combo.findText(op.role)))
        combo.currentIndexChanged.connect(self._on_any_changed)
        t.setCellWidget(r, 2, combo)
        pin = QTableWidgetItem("set" if op.pin_hash else "not set")
        pin.setFlags(pin.flags() & ~Qt.ItemFlag.ItemIsEditable)
        pin.setData(Qt.ItemDataRole.UserRole, op.pin_hash)
        t.setItem(r, 3, pin)
        combo.setEnabled(self.editable)
        t.blockSignals(blocked)
        self._after_rows_changed()

    def _on_set_pin_clicked(self) -> None:
        row = self.op_table.currentRow()
        if row < 0:
            return
        pin, ok = QInputDialog.getText(self, "Set PIN", "New PIN (4 or more digits):", QLineEdit.EchoMode.Password)
        if ok:
            self.set_operator_pin(row, pin)

    def set_operator_pin(self, row: int, pin: str) -> bool:
        if not re.fullmatch(r"\d{4,12}", pin or ""):
            self.summary.setText("A PIN has 4 to 12 digits.")
            return False
        item = self.op_table.item(row, 3)
        item.setData(Qt.ItemDataRole.UserRole, hash_pin(pin))
        item.setText("set (changed)")
        self.revalidate()
        return True

    # ---- data ---------------------------------------------------------------------------
    def _load(self, profile: Profile) -> None:
        for name, editor in self.editors.items():
            editor.set_value(profile.get(name))
        self.gl_table.setRowCount(0)
        for item, gl in sorted(profile.gl_map.items()):
            self._add_gl_row(item, gl)
        self.op_table.setRowCount(0)
        for op in profile.operators:
            self._add_operator_row(op)

    def draft(self) -> tuple[Profile, list[Problem]]:
        """The profile as edited, plus problems converting the fields (before ``validate``)."""
        values: dict[str, Any] = {}
        problems: list[Problem] = []
        for name, editor in self.editors.items():
            try:
                value = coerce(editor.setting, editor.raw())
            except ValueError as exc:
                problems.append(Problem(None, name, "setting", f"{editor.setting.label}: {exc}"))
                continue
            if value != editor.setting.default or name in self.original.values:
                values[name] = value
        gl_map = {}
        for r in range(self.gl_table.rowCount()):
            item = (self.gl_table.item(r, 0).text() if self.gl_table.item(r, 0) else "").strip()
            gl = (self.gl_table.item(r, 1).text() if self.gl_table.item(r, 1) else "").strip()
            if item or gl:
                if not item:
                    problems.append(Problem(r + 1, "gl_map", "required", "item code is empty"))
                elif item in gl_map:
                    problems.append(Problem(r + 1, f"gl_map.{item}", "unique", f"item code {item} is listed twice"))
                gl_map[item] = gl
        operators = []
        for r in range(self.op_table.rowCount()):
            op_id = (self.op_table.item(r, 0).text() if self.op_table.item(r, 0) else "").strip()
            name = (self.op_table.item(r, 1).text() if self.op_table.item(r, 1) else "").strip()
            role = self.op_table.cellWidget(r, 2).currentText()
            pin_hash = self.op_table.item(r, 3).data(Qt.ItemDataRole.UserRole) or ""
            if not op_id:
                problems.append(Problem(r + 1, "operators", "required", "operator ID is empty"))
                continue
            if not pin_hash:
                problems.append(Problem(r + 1, f"operators.{op_id}", "pin", f"operator {op_id} has no PIN"))
            operators.append(Operator(op_id, name, role, pin_hash))
        if self.name != SANDBOX and not any(o.role == "supervisor" for o in operators):
            problems.append(Problem(None, "operators", "supervisor",
                                    "add at least one supervisor (Operators page): only supervisors change settings"))
        profile = Profile(self.name, values=values, gl_map=gl_map, operators=tuple(operators))
        return profile, problems

    def revalidate(self) -> list[Problem]:
        profile, problems = self.draft()
        converted = {p.column for p in problems}
        problems += [p for p in validate(profile) if p.column not in converted]
        self.problems = problems
        by_field: dict[str, list[str]] = {}
        other: list[str] = []
        for p in problems:
            if p.column in self.editors:
                by_field.setdefault(p.column, []).append(p.message)
            else:
                other.append(f"Row {p.line}: {p.message}" if p.line else p.message[:1].upper() + p.message[1:])
        for name, editor in self.editors.items():
            editor.set_error("; ".join(by_field.get(name, [])))
        pages_with_errors = {FIELDS_BY_NAME[n].section for n in by_field}
        for i in range(self.pages.count()):
            title = self.pages.tabText(i).removesuffix(" ⚠")
            bad = any(section_title(s) == title for s in pages_with_errors) or (
                title == "GL accounts" and any(str(p.column).startswith("gl_map") for p in problems)) or (
                title == "Operators" and any(str(p.column).startswith("operators") for p in problems))
            self.pages.setTabText(i, title + (" ⚠" if bad else ""))
        if problems and self.editable:
            n = len(by_field)
            lines = other[:6] + ([f"{n} setting{' needs' if n == 1 else 's need'} attention (marked in red)."]
                                 if by_field else [])
            self.summary.setText("\n".join(lines))
        else:
            self.summary.setText("")
        self.save_button.setEnabled(self.editable and not problems)
        return problems

    @property
    def editable(self) -> bool:
        return self.may_edit and self.name != SANDBOX

    def _on_any_changed(self, *_args) -> None:
        self.revalidate()

    def _update_mode(self) -> None:
        sandbox = self.name == SANDBOX
        if not self.may_edit:
            text = "Only a supervisor can change settings; they are shown read-only."
        elif sandbox:
            text = ("<b>TRAINING</b> — the sandbox profile is built in and read-only. Its URLs and credentials "
                    "come from the embedded sandbox. To configure a real office, create a production "
                    "profile from these settings.")
        else:
            text = f"Editing profile <b>{self.name}</b>."
        self.notice.setText(text)
        self.setWindowTitle(f"Settings — {self.name}" + (" (TRAINING)" if sandbox else ""))
        for editor in self.editors.values():
            editor.set_read_only(not self.editable)
        for edit in self.secret_edits.values():
            edit.setReadOnly(not self.editable)
            edit.setEnabled(self.editable)
            edit.style().unpolish(edit)
            edit.style().polish(edit)
        for w in (self.gl_table, self.op_table):
            w.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers if self.editable
                              else QAbstractItemView.EditTrigger.NoEditTriggers)
        for r in range(self.op_table.rowCount()):
            combo = self.op_table.cellWidget(r, 2)
            if combo is not None:
                combo.setEnabled(self.editable)
        for b in (*self.gl_buttons, *self.op_buttons, self.set_pin_button):
            b.setEnabled(self.editable)
        self.make_default.setEnabled(self.editable)
        self.create_button.setVisible(self.may_edit)
        self.create_button.setText("Create a production profile from these settings…" if sandbox
                                   else "Save as a new profile…")
        self._refresh_secret_placeholders()

    def _refresh_secret_placeholders(self) -> Operation:
        """Say where credentials go and which are stored. The keyring is asked on a worker (it
        can be slow, or ask to be unlocked); ``secrets_op`` is that check, the latest one counts."""
        store, names, sandbox = self._secret_store_factory(self.name), list(self.secret_edits), self.name == SANDBOX
        if not sandbox:
            self.secrets_note.setText("Checking the system keyring…")
        for edit in self.secret_edits.values():
            edit.setPlaceholderText("checking…")

        def look(_op) -> tuple[bool, dict[str, bool]]:
            return store.secure, {name: bool(store.get(name)) for name in names}

        op = Operation(self, look, label="Checking the stored credentials…")
        self.secrets_op = op
        op.success(lambda found: self._show_secret_state(op, sandbox, *found))
        op.failure(lambda exc: self._secret_state_failed(op, exc))
        return op.run()

    def _show_secret_state(self, op: Operation, sandbox: bool, secure: bool, stored: dict[str, bool]) -> None:
        if op is not self.secrets_op:
            return  # the profile changed meanwhile: a newer check follows
        if sandbox:
            note = "The sandbox provides demo credentials; nothing to enter here."
        elif secure:
            note = "Credentials are stored in the system keyring only. Leave a field empty to keep its value."
        else:
            note = ("<b>No secure keyring on this PC:</b> credentials entered here are kept in memory for this "
                    "session only and must be entered again next time.")
        self.secrets_note.setText(note)
        for name, edit in self.secret_edits.items():
            edit.setPlaceholderText("stored — type to replace" if stored.get(name) else "not set")

    def _secret_state_failed(self, op: Operation, exc: BaseException) -> None:
        if op is not self.secrets_op:
            return
        self.secrets_note.setText("The system keyring could not be checked.")
        for edit in self.secret_edits.values():
            edit.setPlaceholderText("")
        show_error(self, exc)

    # ---- actions ------------------------------------------------------------------------
    def _on_transfer_test_clicked(self) -> None:
        self.test_transfer_connection()

    def test_transfer_connection(self) -> bool:
        """Open the transfer connection dialog for the profile being edited and start its test:
        the session's connection when the Transfer page and its credentials are unchanged,
        otherwise one built (on a worker) from the unsaved values. False when nothing opened."""
        from console.ui import transfer_connection_dialog as tcd

        profile, problems = self.draft()
        problems += validate(profile)
        bad = sorted({FIELDS_BY_NAME[p.column].label for p in problems
                      if p.column in FIELDS_BY_NAME and FIELDS_BY_NAME[p.column].section == "transfer"})
        if bad:
            self.summary.setText(f"Correct the Transfer settings first ({', '.join(bad)}), then test the connection.")
            return False
        typed = {n: e.text() for n, e in self.secret_edits.items() if SECRET_LABELS[n][0] == "transfer" and e.text()}
        unsaved = bool(typed) or profile.name != self.original.name or any(
            profile.get(s.name) != self.original.get(s.name) for s in FIELDS if s.section == "transfer")
        if not unsaved:
            subject = tcd.subject_text(self.name, training=self.name == SANDBOX)
            self._open_transfer_dialog(self.services, subject)
            return True
        services, store = self.services, self._secret_store_factory(profile.name)
        self.transfer_test_button.setEnabled(False)

        def opened(draft) -> None:
            self.transfer_test_button.setEnabled(True)
            self._open_transfer_dialog(draft, tcd.subject_text(profile.name, unsaved=True, typed_secret=bool(typed),
                                                               destination=draft.transfer.destination))

        def failed(exc: BaseException) -> None:
            self.transfer_test_button.setEnabled(True)
            show_error(self, exc)

        Operation(self, lambda _op: tcd.draft_services(services, profile, tcd.TypedSecrets(typed, store)),
                  label="Preparing the connection test…").success(opened).failure(failed).run()
        return True

    def _open_transfer_dialog(self, services: Any, subject: str) -> None:
        from console.ui.transfer_connection_dialog import TransferConnectionDialog

        dlg = TransferConnectionDialog(services, self.ctx.operator, self, subject=subject)
        dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dlg.finished.connect(lambda _result: setattr(self, "transfer_dialog", None))
        self.transfer_dialog = dlg
        dlg.open()
        dlg.test_connection()

    def _on_create_button_clicked(self) -> None:
        name = self._ask_name(self, self.name)
        if name:
            self.create_production_profile(name)

    def create_production_profile(self, name: str) -> bool:
        """Turn the draft into a new, not yet saved production profile called ``name``."""
        name = name.strip()
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}", name) or name == SANDBOX:
            self.summary.setText("A profile name has letters, digits, '-', '_' or '.', and is not 'sandbox'.")
            return False
        if name in self.store.names():
            self.summary.setText(f"A profile named {name!r} already exists.")
            return False
        if self.name == SANDBOX:
            self.op_table.setRowCount(0)  # demo operators and their well-known PINs stay in training
        self.name = name
        self.make_default.setChecked(True)
        self._update_mode()
        self.revalidate()
        return True

    def save(self) -> bool:
        """Check the draft, then write the TOML, the keyring entries and the audit row on a worker
        (file, keyring and database calls; the dialog stays responsive). True when the save started;
        ``save_op`` is the running ``Operation``; ``saved`` is emitted and the dialog closes once written."""
        if not self.editable or self.save_op is not None:
            return False
        problems = self.revalidate()
        if problems:
            return False
        profile, _ = self.draft()
        make_default = self.make_default.isChecked()
        secrets = {name: edit.text() for name, edit in self.secret_edits.items() if edit.text()}
        changed = sorted(k for k in set(profile.values) | set(self.original.values)
                         if profile.get(k) != self.original.get(k)) if profile.name == self.original.name else []
        created = profile.name != self.original.name
        gl_diff = gl_changes(dict(self.original.gl_map), dict(profile.gl_map)) if not created else {}
        store, secret_store_factory = self.store, self._secret_store_factory
        services, operator = self.services, getattr(self.ctx, "operator_id", "")
        acting, current = getattr(self.ctx, "operator", None) or operator, self.original

        def work(op):
            from console.services.settings import save_profile

            save_profile(store, profile, current=current, operator=acting, make_default=make_default,
                         audit=getattr(services, "audit", None))
            secret_store = secret_store_factory(profile.name)
            for name, value in secrets.items():
                secret_store.set(name, value)
            gl_error = _audit_record(services, operator, AUDIT_GL_MAP, profile.name, how="edit", changed=gl_diff,
                                     item_codes=len(profile.gl_map), where="settings") if gl_diff else None
            return _audit_record(services, operator, SETTINGS_CHANGE, profile.name, settings=changed,
                                 secrets_changed=sorted(secrets), created=created) or gl_error

        def done(audit_error: Exception | None) -> None:
            self._saving(False)
            for name in secrets:
                self.secret_edits[name].clear()
            log.info("profile %s saved (%s changed, %s updated)", profile.name,
                     counted(len(changed), "setting"), counted(len(secrets), "credential"))
            if audit_error is not None:  # the save happened; make the audit failure visible
                show_error(self, audit_error)
            self.saved.emit(profile.name)
            self.accept()

        def failed(exc: BaseException) -> None:
            self._saving(False)
            show_error(self, exc)

        from console.ui.operations import Operation

        self._saving(True)
        self.save_op = Operation(self, work, label=f"Saving profile {profile.name}…").success(done).failure(failed)
        self.save_op.run()
        return True

    def _saving(self, busy: bool) -> None:
        """While the save runs: Save and Cancel wait, the summary says so."""
        if not busy:
            self.save_op = None
        for b in self.buttons.buttons():
            b.setEnabled(not busy)
        if busy:
            self.summary.setText("Saving…")
        else:
            self.revalidate()


FIELDS_BY_NAME = {s.name: s for s in FIELDS}
SETTINGS_CHANGE = "settings.change"  # console.services.audit.SETTINGS_CHANGE


def _may_edit_settings(services, operator) -> bool:
    """The role's ``settings`` action under the profile in force (supervisors by default)."""
    from console.services.operators import can

    return operator is not None and can(services.profile, operator, "settings")


def _add_remove_row(layout, table: QTableWidget, add: Callable[[], None]) -> tuple[QPushButton, QPushButton]:
    row = layout if isinstance(layout, QHBoxLayout) else QHBoxLayout()
    add_button = QPushButton("Add")
    remove_button = QPushButton("Remove")
    for b in (add_button, remove_button):
        b.setAutoDefault(False)
        row.addWidget(b)
    add_button.clicked.connect(lambda: (add(), table.setCurrentCell(table.rowCount() - 1, 0)))
    remove_button.clicked.connect(lambda: table.currentRow() >= 0 and table.removeRow(table.currentRow()))
    if row is not layout:
        row.addStretch(1)
        layout.addLayout(row)
    return add_button, remove_button


def _ask_profile_name(parent: QWidget, current: str) -> str | None:
    name, ok = QInputDialog.getText(parent, "New production profile", "Profile name (e.g. cityhall):")
    return name if ok else None


def _audit_record(services, operator: str, action: str, subject: str, **details: Any) -> Exception | None:
    """Record in the audit log when this build has one; settings changes must be traceable.
    Safe on a worker: returns the error, if any, for the GUI thread to show."""
    if not hasattr(type(services), "audit"):
        log.info("audit: %s %s by %s %s", action, subject, operator, details)
        return None
    try:
        services.audit.record(operator or "unknown", action, subject, **details)
    except Exception as exc:  # noqa: BLE001 - returned to be shown
        log.exception("audit record failed")
        return exc
    return None


# ---- profile picker and per-session secrets --------------------------------------------
