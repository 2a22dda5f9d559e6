"""The confirmation before anything leaves the office, without the GUI: its text, the typed
total in production above the profile's threshold, and the command line's rules (a terminal
is asked; a script goes ahead only with --yes or BILLER_CONSOLE_ASSUME_YES=1, else exit 1)."""

from __future__ import annotations

import io
from decimal import Decimal
from types import SimpleNamespace

import pytest

from console.cli.confirm import NotConfirmed, confirm_or_exit
from console.config import Profile, sandbox_profile
from console.services.confirm import (
    ASSUME_YES_ENV,
    Outbound,
    confirmation_text,
    outbound_for,
    typed_check,
    typed_matches,
    where,
)

PRODUCTION = Profile("cityhall", values={"confirm_typed_amount_over": Decimal("10000.00"),
                                         "confirm_typed_count_over": 500})


def invoice_file(profile=PRODUCTION, amount=Decimal("123456.78"), count=1_234) -> Outbound:
    return outbound_for(profile, action="Send the invoice file to Invoice Cloud", what="ICExport-Dec.txt",
                        count=count, unit="invoices", amount=amount,
                        destination=where("sftp", "stratus.example.com", "/invoices"))


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_text_says_what_how_many_how_much_where_and_the_profile():
    text = confirmation_text(invoice_file())
    assert text.splitlines()[0] == "Send the invoice file to Invoice Cloud?"
    assert "ICExport-Dec.txt" in text and "1,234 invoices" in text and "$123,456.78" in text
    assert "sftp://stratus.example.com/invoices" in text and "cityhall — PRODUCTION" in text
    training = confirmation_text(invoice_file(sandbox_profile()))
    assert "TRAINING" in training and "PRODUCTION" not in training


def test_production_above_the_threshold_needs_the_total_typed():
    check = typed_check(invoice_file(), PRODUCTION)
    assert check is not None and check.field == "total" and check.expected == "123456.78"
    assert typed_matches(check, "123,456.78") and typed_matches(check, "$123456.78 ")
    assert not typed_matches(check, "123456.87") and not typed_matches(check, "") and not typed_matches(check, "abc")
    assert typed_check(invoice_file(amount=Decimal("9999.99")), PRODUCTION) is None  # under the threshold
    assert typed_check(invoice_file(sandbox_profile()), sandbox_profile()) is None  # training: never typed


def test_files_without_a_total_type_the_count_above_the_count_threshold():
    bills = outbound_for(PRODUCTION, action="Send the bill images", what="batch.pdf", count=742, unit="bill images",
                         destination="sftp://h/bills")
    check = typed_check(bills, PRODUCTION)
    assert check.field == "count" and typed_matches(check, "742") and not typed_matches(check, "741")
    small = outbound_for(PRODUCTION, action="Send", what="b", count=500, unit="bill images", destination="x")
    assert typed_check(small, PRODUCTION) is None


def test_a_script_without_yes_is_refused_with_exit_1(monkeypatch, capsys):
    monkeypatch.delenv(ASSUME_YES_ENV, raising=False)
    with pytest.raises(NotConfirmed) as refused:
        confirm_or_exit(SimpleNamespace(yes=False), invoice_file(), PRODUCTION, stdin=io.StringIO(""))
    assert refused.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("not confirmed:") and "--yes" in err and ASSUME_YES_ENV in err


def test_a_script_goes_ahead_with_yes_or_the_environment(monkeypatch):
    monkeypatch.delenv(ASSUME_YES_ENV, raising=False)
    err = io.StringIO()
    confirm_or_exit(SimpleNamespace(yes=True), invoice_file(), PRODUCTION, stdin=io.StringIO(""), stderr=err)
    assert err.getvalue() == ""  # nothing but errors on stderr for scripts
    monkeypatch.setenv(ASSUME_YES_ENV, "1")
    confirm_or_exit(SimpleNamespace(), invoice_file(), PRODUCTION, stdin=io.StringIO(""), stderr=io.StringIO())


def test_a_terminal_is_asked_the_same_question(monkeypatch):
    monkeypatch.delenv(ASSUME_YES_ENV, raising=False)
    small = invoice_file(amount=Decimal("50.00"))
    err = io.StringIO()
    confirm_or_exit(SimpleNamespace(yes=False), small, PRODUCTION, stdin=Tty("y\n"), stderr=err)
    assert confirmation_text(small) in err.getvalue() and "[y/N]" in err.getvalue()
    with pytest.raises(NotConfirmed):
        confirm_or_exit(SimpleNamespace(yes=False), small, PRODUCTION, stdin=Tty("\n"), stderr=io.StringIO())
    big = invoice_file()
    confirm_or_exit(SimpleNamespace(yes=False), big, PRODUCTION, stdin=Tty("123456.78\n"), stderr=io.StringIO())
    with pytest.raises(NotConfirmed):
        confirm_or_exit(SimpleNamespace(yes=False), big, PRODUCTION, stdin=Tty("y\n"), stderr=io.StringIO())


def test_post_without_a_terminal_or_yes_exits_1_and_imports_nothing(tmp_path, monkeypatch, capsys):
    from console.app import build_services
    from console.cli import main
    from console.sandbox import exports

    monkeypatch.delenv(ASSUME_YES_ENV, raising=False)
    monkeypatch.setenv("BILLER_CONSOLE_PIN", "2222")  # clerk1 signs in; only the confirmation is missing
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # a script: no terminal
    f = tmp_path / "payments.csv"
    exports.write_export("payments", f, 12, 3)
    with pytest.raises(SystemExit) as refused:
        main(["--profile", "sandbox", "post", str(f), "--kind", "payments", "--operator", "clerk1"])
    assert refused.value.code == 1
    err = capsys.readouterr().err
    assert "not confirmed" in err and "--yes" in err
    services = build_services("sandbox")
    try:
        assert services.journal.file_record(services.posting.preview_file(f, "payments").fingerprint) is None
    finally:
        services.close()
