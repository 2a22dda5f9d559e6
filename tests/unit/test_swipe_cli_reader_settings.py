"""``swipe parse`` and the card reader settings: ``--preamble`` / ``--postamble`` in the profile's
notation (same rules, same messages), else the active profile's reader settings."""

from __future__ import annotations

import io
import json

import pytest

from console.cli import main
from console.config import Profile, ProfileStore, coerce, setting
from console.errors import ValidationError
from console.paths import Paths
from tests.data_files import idtech_samples
from tests.profiles import VALID
from tests.swipe_frames import FrameSpec, build_frame

SAMPLES = idtech_samples()
STX = "\x02"


@pytest.fixture(autouse=True)
def _no_profile_from_the_environment(monkeypatch):
    monkeypatch.delenv("BILLER_CONSOLE_PROFILE", raising=False)


def _run(monkeypatch, capsys, text: str, *argv: str):
    """``argv`` is the whole command line after ``biller-console`` (global options first)."""
    stdin = io.StringIO(text)
    monkeypatch.setattr("sys.stdin", stdin)
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err, stdin.tell()


def _save(name: str = "cityhall", *, default: bool = False, **reader) -> None:
    ProfileStore(Paths.default().ensure()).save(Profile(name, values={**VALID, **reader}), make_default=default)


def _frame(preamble: str = "", postamble: str = "") -> str:
    return build_frame(FrameSpec(preamble=preamble, postamble=postamble)) + "\r\n"


# ---- the options' notation ------------------------------------------------------------

@pytest.mark.parametrize("option, chars", [
    ("\\x02#", STX + "#"),      # a control character by hex code, then text
    ("#ID>", "#ID>"),           # text as is
    ("\\\\A", "\\A"),           # a backslash
    ("\\x02\\x1a", STX + "\x1a"),  # lower-case hex digits
])
def test_preamble_option_is_read_in_the_profiles_notation(option, chars, monkeypatch, capsys):
    code, out, err, _ = _run(monkeypatch, capsys, _frame(preamble=chars), "swipe", "parse", "--preamble", option)
    assert (code, err) == (0, ""), err
    assert json.loads(out)["last4"] == "1111"
    # the same frame with the option's text typed literally in front is not the configured preamble
    if option != chars:
        code, out, err, _ = _run(monkeypatch, capsys, _frame(preamble=option), "swipe", "parse", "--preamble", option)
        assert code == 2 and out == ""


def test_postamble_option_is_read_in_the_profiles_notation(monkeypatch, capsys):
    code, out, err, _ = _run(monkeypatch, capsys, _frame(postamble="\x03"), "swipe", "parse", "--postamble", "\\x03")
    assert (code, err) == (0, ""), err
    code, _out, err, _ = _run(monkeypatch, capsys, _frame(), "swipe", "parse", "--postamble", "\\x03")
    assert code == 2
    assert "postamble is missing or different" in err and "given with --postamble" in err
    assert err.count("\n") == 1


@pytest.mark.parametrize("which", ["preamble", "postamble"])
@pytest.mark.parametrize("value", ["\\q", "\\x0", "ABCDEFGHIJKLMNOP", "\\x0D", "caf\u00e9", "\\x00", "a\\x09b"])
def test_bad_option_is_refused_with_the_profiles_message_and_nothing_is_read(which, value, monkeypatch, capsys):
    with pytest.raises(ValueError) as rule:  # what the profile (settings dialog, profiles.toml) says
        coerce(setting(f"reader_{which}"), value)
    with pytest.raises(ValidationError) as loaded:
        _save(**{f"reader_{which}": value})
    assert any(str(rule.value) in p.message for p in loaded.value.problems)

    code, out, err, consumed = _run(monkeypatch, capsys, _frame(), "swipe", "parse", f"--{which}", value)
    assert code == 1 and out == ""
    assert err == f"error: --{which}: {rule.value}\n"
    assert consumed == 0  # settings first: no frame was read, none checked


# ---- the profile's settings -------------------------------------------------------------

def test_the_named_profiles_ambles_are_required(monkeypatch, capsys):
    _save(reader_preamble="\\x02#", reader_postamble="!E")
    argv = ("--profile", "cityhall", "swipe", "parse")
    code, out, err, _ = _run(monkeypatch, capsys, _frame(STX + "#", "!E"), *argv)
    assert (code, err) == (0, ""), err
    assert json.loads(out)["masked_pan"].endswith("1111")

    code, out, err, _ = _run(monkeypatch, capsys, _frame(postamble="!E"), *argv)
    assert code == 2 and out == ""
    assert "preamble is missing or different" in err and '"\\x02#" (STX)' in err
    assert "profile 'cityhall'" in err and err.count("\n") == 1

    code, _out, err, _ = _run(monkeypatch, capsys, _frame(STX + "#"), *argv)
    assert code == 2 and "postamble is missing or different" in err and "profile 'cityhall'" in err


def test_the_default_profile_is_used_without_profile_option(monkeypatch, capsys):
    _save(default=True, reader_preamble="%%")
    code, _out, err, _ = _run(monkeypatch, capsys, _frame(), "swipe", "parse")
    assert code == 2 and "preamble" in err and "profile 'cityhall'" in err
    code, out, err, _ = _run(monkeypatch, capsys, _frame("%%"), "swipe", "parse")
    assert (code, err) == (0, "") and json.loads(out)["last4"] == "1111"
    # the sandbox profile has no preamble: the plain frame passes there
    code, out, err, _ = _run(monkeypatch, capsys, _frame(), "--profile", "sandbox", "swipe", "parse")
    assert (code, err) == (0, ""), err


def test_each_option_overrides_only_its_own_setting(monkeypatch, capsys):
    _save(reader_preamble="\\x02", reader_postamble="\\x03")
    argv = ("--profile", "cityhall", "swipe", "parse")
    # --preamble '' = none; the postamble is still the profile's
    code, _out, err, _ = _run(monkeypatch, capsys, _frame(), *argv, "--preamble", "")
    assert code == 2 and "postamble" in err and "profile 'cityhall'" in err
    code, _out, err, _ = _run(monkeypatch, capsys, _frame(postamble="\x03"), *argv, "--preamble", "")
    assert (code, err) == (0, ""), err
    code, _out, err, _ = _run(monkeypatch, capsys, _frame("#", "\x03"), *argv, "--preamble", "#")
    assert (code, err) == (0, ""), err
    code, _out, err, _ = _run(monkeypatch, capsys, _frame(), *argv, "--preamble", "", "--postamble", "")
    assert (code, err) == (0, ""), err


@pytest.mark.parametrize("sample", SAMPLES, ids=[s["id"] for s in SAMPLES])
def test_a_production_profile_with_default_reader_settings_reads_every_sample(sample, monkeypatch, capsys):
    _save(default=True)  # what a new production profile has: no preamble, no postamble
    code, out, err, _ = _run(monkeypatch, capsys, sample["frame"] + "\r\n", "swipe", "parse")
    assert (code, err) == (0, ""), err
    assert {k: json.loads(out)[k] for k in ("masked_pan", "ksn", "checks")} == \
        {k: sample[k] for k in ("masked_pan", "ksn", "checks")}


def test_a_profile_that_does_not_load_is_named_and_the_options_still_work(monkeypatch, capsys):
    code, out, err, consumed = _run(monkeypatch, capsys, _frame(), "--profile", "nope", "swipe", "parse")
    assert code == 1 and out == "" and consumed == 0
    assert "No profile named 'nope'" in err and "--preamble and --postamble" in err
    code, _out, err, _ = _run(monkeypatch, capsys, _frame(), "--profile", "nope", "swipe", "parse",
                              "--postamble", "")
    assert code == 1 and "give --preamble" in err and "--postamble" not in err.split("give", 1)[1]
    # both given: the profile is not needed
    code, out, err, _ = _run(monkeypatch, capsys, _frame(), "--profile", "nope", "swipe", "parse",
                             "--preamble", "", "--postamble", "")
    assert (code, err) == (0, ""), err


def test_a_bad_reader_setting_in_profiles_toml_is_reported_with_the_profiles_message(monkeypatch, capsys):
    paths = Paths.default().ensure()
    paths.profiles_file.write_text(
        'default = "cityhall"\n[profiles.cityhall.reader]\npreamble = "\\\\q"\n', encoding="utf-8")
    with pytest.raises(ValueError) as rule:
        coerce(setting("reader_preamble"), "\\q")
    code, out, err, _ = _run(monkeypatch, capsys, _frame(), "swipe", "parse")
    assert code == 1 and out == ""
    assert f"[reader] preamble: {rule.value}" in err
    assert "Settings › Card reader" in err
