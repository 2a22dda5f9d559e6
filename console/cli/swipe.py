"""``biller-console swipe parse``: check one IDTech SRED frame read from stdin.

Prints one JSON object with the fields a console may show (never the encrypted payload,
never clear card data). A rejected frame exits 2 with a one-line reason on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys

from console.devices.sred import SwipeRejected, parse_frame
from console.devices.typed_layouts import parse_any_layout

MAX_INPUT_CHARS = 64 * 1024


def register(sub) -> None:
    parser = sub.add_parser("swipe", help="IDTech SRED card reader: parse and check frames")
    actions = parser.add_subparsers(dest="swipe_command", metavar="ACTION", required=True)
    parse = actions.add_parser(
        "parse",
        help="read one frame from stdin, print its masked fields as JSON",
        description="Read one IDTech SRED frame (keyboard- or hex-rendered; a trailing CR/LF is "
        "fine) from stdin and print format, masked_pan, last4, brand, name, expiry, serial, ksn, "
        "encryption and checks as one JSON object. Exit 2 if the frame is rejected.",
    )
    parse.add_argument("--preamble", default="", help="a preamble the reader is configured to send")
    parse.add_argument("--postamble", default="", help="a postamble the reader is configured to send")
    parse.set_defaults(func=parse_command)


def parse_command(args: argparse.Namespace) -> int:
    raw = sys.stdin.buffer.read(MAX_INPUT_CHARS + 1) if hasattr(sys.stdin, "buffer") else \
        sys.stdin.read(MAX_INPUT_CHARS + 1)
    text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else raw
    raw = b""
    if len(text) > MAX_INPUT_CHARS:
        print("rejected: input too long for a card frame", file=sys.stderr)
        return 2
    try:
        # Text typed under a German/French/Spanish layout is read back as the US keys it was.
        card, _layout = parse_any_layout(
            text, lambda t: parse_frame(t, preamble=args.preamble, postamble=args.postamble))
    except SwipeRejected as exc:
        print(f"rejected: {exc}", file=sys.stderr)
        return 2
    finally:
        text = ""  # the raw frame is not kept around
    print(json.dumps(card.as_dict()))
    return 0
