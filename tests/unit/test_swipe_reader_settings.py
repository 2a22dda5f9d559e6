"""Reader settings: the profile's notation for preamble/postamble, validation of every reader
setting, and the parser and detector honouring them (frames from tests/swipe_frames.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.config import FIELDS, Profile, ProfileStore, coerce, sandbox_profile, setting, validate
from console.devices.ambles import MAX_AMBLE_CHARS, decode_amble, describe_amble, encode_amble
from console.devices.capture import CaptureSettings, run_stream, typed
from console.devices.reader_config import ReaderSettings
from console.devices.sred import AmbleMismatch, ReaderNotEncrypting, SwipeRejected, parse_frame
from console.errors import ValidationError
from console.paths import Paths
from tests.swipe_frames import FrameSpec, build_frame

READER_FIELDS = ("reader_preamble", "reader_postamble", "reader_terminator", "reader_max_gap_ms",
                 "reader_frame_timeout_ms", "reader_expected_serial", "reader_ksn_days")


# ---------------------------------------------------------------- the notation


@pytest.mark.parametrize(("text", "chars"), [
    ("", ""),
    ("#", "#"),
    ("ID>", "ID>"),
    ("\\x02", "\x02"),
    ("\\x02ID\\x1a", "\x02ID\x1a"),
    ("a\\\\b", "a\\b"),
    ("\\x41\\x20B", "A B"),
    ("%%", "%%"),
])
def test_amble_notation_decodes(text, chars):
    assert decode_amble(text) == chars
    assert decode_amble(encode_amble(chars)) == chars


@pytest.mark.parametrize(("text", "words"), [
    ("\\q", "backslash starts an escape at character 1"),
    ("ab\\x2", "backslash starts an escape at character 3"),
    ("ab\\", "backslash starts an escape"),
    ("\\x0D", "Terminator setting"),
    ("X\\x0a", "Enter (character 2)"),
    ("\\x09", "Tab"),
    ("é", "not ASCII"),
    ("\\x1b", "control character a reader cannot type"),
    ("\\x00", "control character a reader cannot type"),
    ("A" * (MAX_AMBLE_CHARS + 1), f"at most {MAX_AMBLE_CHARS}"),
    ("\\x20ID", "begin or end with a space"),
])
def test_amble_notation_refuses_with_a_clear_rule(text, words):
    with pytest.raises(ValueError) as err:
        decode_amble(text)
    assert words in str(err.value)


def test_describe_names_control_characters():
    assert describe_amble("") == "none"
    assert describe_amble("#ID") == '"#ID"'
    assert describe_amble("\x02") == '"\\x02" (STX)'


@given(st.text(alphabet=st.sampled_from([chr(c) for c in range(0x21, 0x7F)] + ["\x02", "\x03", "\x1a", " "]),
               min_size=1, max_size=MAX_AMBLE_CHARS).filter(lambda s: s[0] != " " and s[-1] != " "))
def test_property_notation_round_trips(chars):
    text = encode_amble(chars)
    assert all(" " <= c <= "~" for c in text)  # always typeable in the settings dialog
    assert decode_amble(text) == chars


# ---------------------------------------------------------------- the profile's settings


def test_reader_settings_are_declared_once_with_help():
    names = [s.name for s in FIELDS]
    for name in READER_FIELDS:
        assert names.count(name) == 1
        assert setting(name).help, name


@pytest.mark.parametrize(("name", "value", "words"), [
    ("reader_preamble", "\\x0d", "Terminator"),
    ("reader_postamble", "\\zz", "escape"),
    ("reader_terminator", "tab", "must be one of enter, none"),
    ("reader_max_gap_ms", 2, "between 5 and 250"),
    ("reader_max_gap_ms", 400, "between 5 and 250"),
    ("reader_frame_timeout_ms", 50, "between 200 and 5000"),
    ("reader_expected_serial", "T13 4000064", "serial number"),
    ("reader_expected_serial", "T1340000640", "serial number"),
    ("reader_ksn_days", 0, "between 1 and 365"),
])
def test_bad_reader_values_are_refused_naming_the_rule(name, value, words):
    with pytest.raises(ValueError) as err:
        coerce(setting(name), value)
    assert words in str(err.value)
    problems = validate(sandbox_profile().with_values(**{name: value}))
    assert [p.column for p in problems] == [name]
    assert words in problems[0].message


@pytest.mark.parametrize(("name", "value", "typed_value"), [
    ("reader_preamble", " \\x02 ", "\\x02"),
    ("reader_max_gap_ms", "30", 30),
    ("reader_expected_serial", "T134000064", "T134000064"),
    ("reader_terminator", "none", "none"),
])
def test_good_reader_values(name, value, typed_value):
    assert coerce(setting(name), value) == typed_value


def test_reader_settings_survive_the_profiles_file(tmp_path):
    store = ProfileStore(Paths.default())
    base = {"caselle_url": "https://c.example.gov/graphql", "caselle_client_id": "abc",
            "invoicecloud_biller_id": "CITY01", "invoicecloud_api_url": "https://ic.example.com/api",
            "invoicecloud_gateway_url": "https://ic.example.com/gw", "transfer_host": "h", "transfer_user": "u"}
    profile = Profile("prod", {**base, "reader_preamble": "\\x02#", "reader_postamble": "\\\\END",
                               "reader_terminator": "none", "reader_max_gap_ms": 40,
                               "reader_expected_serial": "T134000064"})
    store.save(profile)
    loaded = store.load("prod")
    reader = ReaderSettings.from_profile(loaded)
    assert (reader.preamble, reader.postamble, reader.terminator) == ("\x02#", "\\END", "none")
    assert reader.max_gap_ms == 40 and reader.frame_timeout_ms == 600 and reader.ksn_days == 30
    assert reader.expected_serial == "T134000064"
    assert ReaderSettings.from_profile(Profile("x", reader.profile_values())) == reader
    with pytest.raises(ValidationError):
        store.save(profile.with_values(reader_preamble="\\x0d"))


def test_reader_settings_become_capture_settings():
    reader = ReaderSettings(preamble="#", postamble="!", terminator="none", max_gap_ms=30, frame_timeout_ms=900,
                            expected_serial="T1")
    cs = reader.capture_settings()
    assert (cs.preamble, cs.postamble, cs.terminator, cs.expected_serial) == ("#", "!", "none", "T1")
    assert cs.max_gap == pytest.approx(0.030) and cs.frame_timeout == pytest.approx(0.9)
    rows = dict(reader.summary())
    assert rows["Preamble"] == '"#"' and rows["Terminator"] == "none" and rows["Expected reader"] == "T1"
    assert ReaderSettings.from_profile(sandbox_profile()) == ReaderSettings()


# ---------------------------------------------------------------- the parser


@pytest.mark.parametrize("spec", [
    FrameSpec(preamble="#ID>", postamble="<E"),
    FrameSpec(preamble="\x02", postamble="\x03"),
    FrameSpec(format="original", preamble="%%"),
    FrameSpec(format="keyed", postamble="!!"),
    FrameSpec(rendering="hex", checks="bytes", preamble="#", postamble="$"),
    FrameSpec(caps_lock=True, preamble="ID", postamble="\r"),
], ids=lambda s: f"{s.format}-{s.rendering}-{encode_amble(s.preamble)}-{encode_amble(s.postamble)}")
def test_configured_ambles_are_stripped_before_parsing(spec):
    frame = build_frame(spec)
    card = parse_frame(frame + "\r\n", preamble=spec.preamble, postamble=spec.postamble.strip())
    assert card.ksn == spec.expected()["ksn"] and card.masked_pan == spec.expected()["masked_pan"]


def _refused(text: str, **ambles) -> SwipeRejected:
    with pytest.raises(SwipeRejected) as err:
        parse_frame(text, **ambles)
    message = str(err.value)
    assert "4111" not in message and "SMITH" not in message and "%*" not in message  # no card data echoed
    return err.value


@pytest.mark.parametrize("frame_pre", ["", "ID", "#", "\x02"])
def test_missing_or_wrong_preamble_is_a_clear_error(frame_pre):
    frame = frame_pre + build_frame(FrameSpec())
    err = _refused(frame, preamble="#ID")
    assert isinstance(err, AmbleMismatch) and err.check == "preamble"
    assert 'preamble is missing or different (the console expects "#ID"' in str(err)


def test_missing_or_wrong_postamble_is_a_clear_error():
    frame = build_frame(FrameSpec())
    for tail in ("", "<X", "\r"):
        err = _refused(frame + tail, postamble="<E")
        assert err.check == "postamble" and '"<E"' in str(err)


def test_a_damaged_frame_is_refused_for_the_damage_not_the_postamble():
    frame = build_frame(FrameSpec())
    assert _refused(frame[:-3], postamble="<E").check == "truncated"
    assert _refused("#" + frame[1:] + "<E", preamble="#", postamble="<E").check == "missing STX"


def test_a_configured_preamble_is_not_guessed_past():
    """With a configured preamble the frame starts right after it: an extra unknown preamble
    between the two is not skipped (it was skipped when nothing was configured)."""
    frame = build_frame(FrameSpec())
    assert parse_frame("XY" + frame).ksn  # nothing configured: a two-character preamble is recognised
    assert _refused("#XY" + frame, preamble="#").check != "preamble"


def test_clear_tracks_are_refused_as_not_encrypting_whatever_the_ambles():
    clear = "%B4111111111111111^SMITH/JOHN^28121011000000000000?"
    for text in (clear, "#" + clear, "#" + clear + "<E"):
        with pytest.raises(ReaderNotEncrypting) as err:
            parse_frame(text, preamble="#", postamble="<E")
        assert "4111" not in str(err.value)


def test_amble_errors_survive_pickling():
    import pickle

    err = AmbleMismatch("preamble", "#")
    again = pickle.loads(pickle.dumps(err))
    assert again.check == "preamble" and str(again) == str(err)


# ---------------------------------------------------------------- the detector


def _stream(text: str, settings: CaptureSettings, **kw):
    return run_stream(typed(text, **kw), settings)


def test_detector_reads_a_frame_inside_its_ambles_and_swallows_them():
    spec = FrameSpec(preamble="#ID", postamble="<E")
    reader = ReaderSettings(preamble="#ID", postamble="<E")
    out = _stream(build_frame(spec) + "\r", reader.capture_settings())
    assert out.failures == [] and [c.ksn for c in out.cards] == [spec.ksn]
    assert out.delivered == ""


def test_detector_waits_for_the_postamble_then_reports_it_missing():
    settings = ReaderSettings(postamble="<E").capture_settings()
    out = _stream(build_frame(FrameSpec()), settings)
    assert out.cards == [] and [f.check for f in out.failures] == ["postamble"]
    assert out.delivered == ""


def test_detector_wrong_postamble_is_refused_and_later_typing_kept():
    settings = ReaderSettings(postamble="<E").capture_settings()
    keys = typed(build_frame(FrameSpec()) + "<X") + typed("12.50", start=10.0, gap=0.1)
    out = run_stream(keys, settings)
    assert [f.check for f in out.failures] == ["postamble"]
    assert out.delivered.endswith("12.50")
    assert "0" not in out.delivered.replace("12.50", "")  # no frame character leaked


def test_detector_reports_a_missing_preamble():
    settings = ReaderSettings(preamble="#").capture_settings()
    out = _stream(build_frame(FrameSpec()) + "\r", settings)
    assert out.cards == [] and [f.check for f in out.failures] == ["preamble"]
    assert out.delivered == ""


def test_terminator_enter_is_swallowed_none_leaves_enter_to_the_person():
    frame = build_frame(FrameSpec())
    enter = ReaderSettings(terminator="enter").capture_settings()
    none = ReaderSettings(terminator="none").capture_settings()
    assert _stream(frame + "\r", enter).delivered == ""
    out = _stream(frame + "\r", none)
    assert len(out.cards) == 1 and out.delivered == "\r"
    # with a postamble the Enter after it is handled the same way
    spec = FrameSpec(postamble="!!")
    assert _stream(build_frame(spec) + "\r", ReaderSettings(postamble="!!").capture_settings()).delivered == ""
    out = _stream(build_frame(spec) + "\r", ReaderSettings(postamble="!!", terminator="none").capture_settings())
    assert len(out.cards) == 1 and out.delivered == "\r"


@pytest.mark.parametrize(("max_gap_ms", "read"), [(55, True), (30, False)])
def test_burst_threshold_decides_what_is_a_reader(max_gap_ms, read):
    """A reader set to a 50 ms character delay: read under the default threshold, typing (given
    back, nothing lost) under a threshold below its delay."""
    frame = build_frame(FrameSpec())
    settings = ReaderSettings(max_gap_ms=max_gap_ms).capture_settings()
    out = _stream(frame, settings, gap=0.040 if read else 0.045)
    assert (len(out.cards) == 1) is read
    if not read:
        assert out.delivered == frame and out.cards == []


def test_expected_reader_serial():
    frame = build_frame(FrameSpec(serial="T134000064"))
    ok = ReaderSettings(expected_serial="T134000064").capture_settings()
    other = ReaderSettings(expected_serial="T999999999").capture_settings()
    assert len(_stream(frame, ok).cards) == 1
    out = _stream(frame, other)
    assert out.cards == [] and [f.check for f in out.failures] == ["reader serial"]
    assert "T134000064" in str(out.failures[0]) and "T999999999" in str(out.failures[0])
    no_serial = _stream(build_frame(FrameSpec(serial=None, ksn="62994900000000A00009")), ok)
    assert [f.check for f in no_serial.failures] == ["reader serial"]
    assert "did not send its serial" in str(no_serial.failures[0])
    keyed = _stream(build_frame(FrameSpec(format="keyed", ksn="62994900000000A0000A")), ok)
    assert len(keyed.cards) == 1  # keypad entry frames never carry a serial


def test_configure_changes_settings_of_a_running_detector():
    from console.devices.capture import BurstDetector

    det = BurstDetector(CaptureSettings())
    det.configure(ReaderSettings(preamble="#").capture_settings())
    out = run_stream(typed("#" + build_frame(FrameSpec()) + "\r"), detector=det)
    assert len(out.cards) == 1 and out.delivered == ""


def test_caps_lock_flips_the_ambles_letters_too():
    spec = FrameSpec(caps_lock=True, preamble="id>", postamble="<end")  # "ID>" / "<END" typed with Caps Lock
    frame = build_frame(spec)
    assert parse_frame(frame, preamble="ID>", postamble="<END").ksn == spec.ksn
    out = _stream(frame + "\r", ReaderSettings(preamble="ID>", postamble="<END").capture_settings())
    assert [c.ksn for c in out.cards] == [spec.ksn] and out.delivered == "" and out.failures == []
    assert _refused(build_frame(FrameSpec(preamble="IP>")), preamble="ID>").check == "preamble"


def test_configure_during_a_read_drops_the_frame_never_types_it():
    from console.devices.capture import BurstDetector, Discard, Replay

    det = BurstDetector(CaptureSettings())
    frame = build_frame(FrameSpec())
    t = 0.0
    for ch in frame[:80]:
        det.feed(ch, t)
        t += 0.0012
    assert det.in_burst and det.held_count == 80
    actions = det.configure(ReaderSettings(preamble="#").capture_settings())
    assert actions == [Discard(80)] and not any(isinstance(a, Replay) for a in actions)
    assert det.held_count == 0 and det.state == "listening"
