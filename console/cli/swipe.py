"""``biller-console [--profile NAME] swipe parse``: check one IDTech SRED frame read from stdin.

Prints one JSON object with the fields a console may show (never the encrypted payload,
never clear card data). A rejected frame exits 2 with a one-line reason on stderr.

The preamble and postamble a read must carry are the active profile's card reader settings
(Settings › Card reader; the built-in sandbox profile has none), unless ``--preamble`` /
``--postamble`` name others — in the profile's notation (``\\xHH`` is one character by hex
code, ``\\\\`` a backslash), checked by the profile's own rules. Settings that cannot be used
(a bad option value, a profile that does not load) exit 1 with the reason on stderr: no
frame was checked.
"""

from __future__ import annotations

import argparse
import json
import sys

from console.devices.sred import AmbleMismatch, SwipeRejected, parse_frame
from console.devices.typed_layouts import parse_any_layout
from console.errors import UserFacingError

MAX_INPUT_CHARS = 64 * 1024
AMBLES = ("preamble", "postamble")

_AMBLE_HELP = ("the characters the reader types {when} each read, in the profile's notation: text as is, "
               "\\xHH one character by hex code (\\x02 = STX), \\\\ a backslash; '' = none "
               "(default: the profile's Card reader {which})")


def register(sub) -> None:
    parser = sub.add_parser("swipe", help="IDTech SRED card reader: parse and check frames")
    actions = parser.add_subparsers(dest="swipe_command", metavar="ACTION", required=True)
    parse = actions.add_parser(
        "parse",
        help="read one frame from stdin, print its masked fields as JSON",
        description="Read one IDTech SRED frame (keyboard- or hex-rendered; a trailing CR/LF is "
        "fine) from stdin and print format, masked_pan, last4, brand, name, expiry, serial, ksn, "
        "encryption and checks as one JSON object. The preamble and postamble are the active "
        "profile's (global --profile) unless given here. Exit 2 if the frame is rejected, 1 if the "
        "reader settings cannot be used (nothing was checked).",
    )
    parse.add_argument("--preamble", default=None, metavar="TEXT",
                       help=_AMBLE_HELP.format(when="before", which="preamble"))
    parse.add_argument("--postamble", default=None, metavar="TEXT",
                       help=_AMBLE_HELP.format(when="after", which="postamble"))
    parse.set_defaults(func=parse_command)


class SettingsError(UserFacingError):
    """The reader settings to check against cannot be used (nothing was checked)."""

    def __init__(self, message: str, *, problems: list[str] | None = None, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = list(problems or [])


def decode_option(which: str, text: str) -> str:
    """``--preamble`` / ``--postamble`` as the profile reads its setting: the same notation,
    the same rules and messages (``console.config.coerce`` with the setting's own check)."""
    from console.config import coerce, setting
    from console.devices.ambles import decode_amble

    try:
        return decode_amble(coerce(setting(f"reader_{which}"), text), which)
    except ValueError as exc:
        raise SettingsError(f"--{which}: {exc}") from None


def reader_ambles(args: argparse.Namespace) -> tuple[dict[str, str], dict[str, str]]:
    """``({"preamble": chars, "postamble": chars}, {which: where it comes from})``.

    The profile is read (no sandbox started, nothing written) only for an amble not given
    as an option."""
    ambles: dict[str, str] = {}
    source: dict[str, str] = {}
    for which in AMBLES:
        given = getattr(args, which, None)
        if given is not None:
            ambles[which] = decode_option(which, given)
            source[which] = f"the one given with --{which}"
    if len(ambles) < len(AMBLES):
        from console.config import ProfileStore
        from console.devices.reader_config import ReaderSettings
        from console.paths import Paths

        wanted = " and ".join(f"--{w}" for w in AMBLES if w not in ambles)
        try:
            profile = ProfileStore(Paths.default()).load(getattr(args, "profile", None))
            reader = ReaderSettings.from_profile(profile)
        except (UserFacingError, ValueError) as exc:
            raise SettingsError(
                f"the card reader settings cannot be read: {exc}",
                problems=[p.message for p in getattr(exc, "problems", ()) or () if p.message not in str(exc)],
                hint=f"correct the profile (Settings › Card reader) or give {wanted}") from None
        for which in AMBLES:
            if which not in ambles:
                ambles[which] = getattr(reader, which)
                source[which] = f"the one set in profile {profile.name!r} (--{which} checks against another)"
    return ambles, source


def parse_command(args: argparse.Namespace) -> int:
    try:
        ambles, source = reader_ambles(args)
    except SettingsError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        if exc.hint:
            print(f"  fix: {exc.hint}", file=sys.stderr)
        return 1
    raw = sys.stdin.buffer.read(MAX_INPUT_CHARS + 1) if hasattr(sys.stdin, "buffer") else \
        sys.stdin.read(MAX_INPUT_CHARS + 1)
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    raw = b""
    if len(text) > MAX_INPUT_CHARS:
        print("rejected: input too long for a card frame", file=sys.stderr)
        return 2
    try:
        # Text typed under a German/French/Spanish layout is read back as the US keys it was.
        card, _layout = parse_any_layout(text, lambda t: parse_frame(t, **ambles))
    except SwipeRejected as exc:
        reason = str(exc)
        if isinstance(exc, AmbleMismatch) and exc.check in source:
            # which setting was applied, so a support person knows what to change
            reason += f" [the expected {exc.check} is {source[exc.check]}]"
        print(f"rejected: {reason}", file=sys.stderr)
        return 2
    finally:
        text = ""  # the raw frame is not kept around
    print(json.dumps(card.as_dict()))
    return 0
