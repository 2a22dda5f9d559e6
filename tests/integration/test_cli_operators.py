"""The command line proves who is acting (console/cli/acting.py): a role that may not do the
action exits 77 with one line; a wrong or missing PIN exits 1 (never 77) and counts toward the
same persistent lockout as the sign-in dialog; unattended jobs act as the profile's automation
operator with its secret in the keyring; read-only commands need no operator."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest

from console import app
from console.adapters.journal import SqliteJournal
from console.cli import main
from console.config import Operator, Profile, ProfileStore, hash_pin
from console.paths import Paths
from console.secrets import AUTOMATION_SECRET, MemoryBackend
from console.services import operators
from console.services.audit import AuditLog
from console.services.operators import MAX_FAILURES, OperatorService, SignInError
from tests.lockbox_data import payment_rows, write_gl_map, write_payments
from tests.profiles import VALID

T0 = dt.datetime(2026, 11, 26, 9, 30, tzinfo=dt.UTC).timestamp()  # the one clock of these tests


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    monkeypatch.setattr(operators, "wall_clock", lambda: T0)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # no terminal: a PIN is never asked for
    monkeypatch.delenv("BILLER_CONSOLE_OPERATOR", raising=False)
    monkeypatch.delenv("BILLER_CONSOLE_PIN", raising=False)


def as_operator(monkeypatch, operator_id: str, pin: str) -> None:
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", operator_id)
    monkeypatch.setenv("BILLER_CONSOLE_PIN", pin)


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def lockbox_args(tmp_path):
    pay = write_payments(tmp_path / "p.csv", payment_rows(4))
    gl = write_gl_map(tmp_path / "gl.csv")
    built = tmp_path / "lb.txt"
    return {"build": ["lockbox", "build", "--payments", str(pay), "--out", str(built), "--gl-map", str(gl), "--json"],
            "out": built, "payments": pay}


# every command that acts, and what a cashier is told
ACTING_COMMANDS = [
    (["post", "PAYMENTS", "--kind", "payments"], "import a file for posting"),
    (["lockbox", "build", "--payments", "PAYMENTS", "--out", "OUT"], "build a lockbox file"),
    (["lockbox", "send", "OUT"], "send a lockbox file"),
    (["lockbox", "handed-over", "OUT"], "send a lockbox file"),
    (["invoices", "send", "PAYMENTS"], "send the invoice file"),
    (["adjustments", "sync"], "send account balance updates"),
    (["conversions", "build", "--out", "OUT"], "build or send a conversion file"),
]


@pytest.mark.parametrize(("argv", "label"), ACTING_COMMANDS, ids=lambda v: " ".join(v) if isinstance(v, list) else "")
def test_a_cashier_is_refused_with_exit_77_and_one_line(capsys, monkeypatch, lockbox_args, argv, label):
    as_operator(monkeypatch, "cashier1", "1111")
    if "send" in argv or "handed-over" in argv:
        lockbox_args["out"].write_text("not checked: refused first\n", encoding="utf-8")  # an input file is 66 if missing
    argv = [str(lockbox_args["payments"]) if a == "PAYMENTS" else str(lockbox_args["out"]) if a == "OUT" else a
            for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 77
    assert err == f"not permitted: cashier may not {label}\n" and out == ""
    if argv[:2] == ["lockbox", "build"] or argv[0] == "conversions":
        assert not lockbox_args["out"].exists()


def test_a_clerk_builds_and_the_journal_names_them(capsys, monkeypatch, lockbox_args):
    as_operator(monkeypatch, "clerk1", "2222")
    code, out, err = run(capsys, *lockbox_args["build"])
    assert code == 0, err
    assert lockbox_args["out"].exists()
    code, out, _ = run(capsys, "lockbox", "files", "--json")
    assert code == 0 and json.loads(out)["files"][0]["operator"] == "clerk1"


def test_the_operator_option_wins_over_the_environment(capsys, monkeypatch, lockbox_args):
    as_operator(monkeypatch, "clerk1", "1111")  # cashier1's PIN
    code, _out, err = run(capsys, *lockbox_args["build"], "--operator", "cashier1")
    assert code == 77 and "cashier may not" in err


@pytest.mark.parametrize(("who", "pin"), [("clerk1", "0000"), ("cashier1", "2222"), ("nobody", "1111")])
def test_a_wrong_pin_or_unknown_operator_exits_1_never_77(capsys, monkeypatch, lockbox_args, who, pin):
    as_operator(monkeypatch, who, pin)
    code, out, err = run(capsys, *lockbox_args["build"])
    assert code == 1 and "Unknown operator ID or wrong PIN" in err and "not permitted" not in err
    assert out == "" and not lockbox_args["out"].exists()
    audit = AuditLog(Paths.default().journal_file)
    assert [(r.operator, r.details["path"]) for r in audit.rows(action="operator.cli_failed")] == [(who, "cli")]
    audit.close()


def test_no_operator_or_no_pin_without_a_terminal_exits_1(capsys, monkeypatch, lockbox_args):
    code, _out, err = run(capsys, *lockbox_args["build"])
    assert code == 1 and "No operator" in err and "BILLER_CONSOLE_OPERATOR" in err
    monkeypatch.setenv("BILLER_CONSOLE_OPERATOR", "clerk1")
    code, _out, err = run(capsys, *lockbox_args["build"])
    assert code == 1 and "No PIN for clerk1" in err
    assert not lockbox_args["out"].exists()


def test_wrong_pins_on_the_command_line_lock_the_sign_in_dialog_too(capsys, monkeypatch, lockbox_args):
    as_operator(monkeypatch, "clerk1", "0000")
    for _ in range(MAX_FAILURES):
        assert run(capsys, *lockbox_args["build"])[0] == 1
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "2222")
    code, _out, err = run(capsys, *lockbox_args["build"])
    assert code == 1 and "Too many wrong PINs for clerk1" in err
    assert not lockbox_args["out"].exists()
    # the sign-in dialog's service, on the same journal, is locked as well
    journal = SqliteJournal(Paths.default().journal_file)
    services = app.build_services("sandbox")
    dialog_check = OperatorService(services.profile, failures=journal, clock=lambda: T0 + 60)
    with pytest.raises(SignInError, match="Too many"):
        dialog_check.sign_in("clerk1", "2222")
    journal.close()
    services.close()


def test_a_supervisor_override_pin_counts_toward_the_same_lockout(capsys, monkeypatch, lockbox_args):
    as_operator(monkeypatch, "clerk1", "2222")
    assert run(capsys, *lockbox_args["build"])[0] == 0
    assert run(capsys, "lockbox", "handed-over", str(lockbox_args["out"]))[0] == 0
    monkeypatch.setenv("BILLER_CONSOLE_SUPERVISOR_PIN", "0000")
    for _ in range(MAX_FAILURES):
        code, _out, err = run(capsys, "lockbox", "handed-over", str(lockbox_args["out"]), "--supervisor", "super1")
        assert code == 1 and "not permitted" not in err
    monkeypatch.setenv("BILLER_CONSOLE_SUPERVISOR_PIN", "9999")
    code, _out, err = run(capsys, "lockbox", "handed-over", str(lockbox_args["out"]), "--supervisor", "super1")
    assert code == 1 and "Too many wrong PINs for super1" in err


def test_read_only_commands_need_no_operator(capsys, lockbox_args):
    code, out, _ = run(capsys, "post", str(lockbox_args["payments"]), "--kind", "payments", "--dry-run", "--json")
    assert json.loads(out)["status"] in ("dry_run", "invalid")  # the lockbox sample is not an IC payments file
    assert code in (0, 1)
    assert run(capsys, "lockbox", "check", str(lockbox_args["out"]))[0] == 66  # no such file: checked, not refused


# ---- the automation operator (unattended jobs) ------------------------------------------
ROBOT_SECRET = "nightly-7c1e"


@pytest.fixture
def town(monkeypatch):
    """A production profile whose automation operator "robot" may build lockbox files; one
    in-memory keyring for every ``build_services`` of the test."""
    backend = MemoryBackend()
    real_build = app.build_services
    monkeypatch.setattr(app, "build_services", lambda name=None, **kw: real_build(name, secret_backend=backend, **kw))
    profile = Profile("town", values={**VALID, "roles_automation_operator": "robot",
                                      "roles_automation_actions": ["build_lockbox"]},
                      operators=(Operator("sup", "Sue", "supervisor", hash_pin("4321", iterations=1000)),
                                 Operator("robot", "Nightly jobs", "automation",
                                          hash_pin(ROBOT_SECRET, iterations=1000))))
    ProfileStore(Paths.default().ensure()).save(profile)
    return backend


def test_the_automation_operator_acts_with_its_keyring_secret(capsys, town, lockbox_args):
    argv = ["--profile", "town", *lockbox_args["build"]]
    code, _out, err = run(capsys, *argv)
    assert code == 1 and "No secret for the automation operator robot" in err
    secrets = app.build_services("town").secrets
    secrets.set(AUTOMATION_SECRET, ROBOT_SECRET)
    code, _out, err = run(capsys, *argv)
    assert code == 0, err
    code, out, _ = run(capsys, "--profile", "town", "lockbox", "files", "--json")
    assert json.loads(out)["files"][0]["operator"] == "robot"
    # the profile gave it build_lockbox only
    code, out, err = run(capsys, "--profile", "town", "lockbox", "send", str(lockbox_args["out"]))
    assert code == 77 and err == "not permitted: automation may not send a lockbox file\n"
    # a wrong secret is a wrong PIN
    secrets.set(AUTOMATION_SECRET, "guess")
    assert run(capsys, *argv)[0] == 1
