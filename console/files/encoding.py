"""Text encoding and binary detection for the reader.

UTF-8 (with or without a BOM) is read silently; Windows-1252 (what older Windows exports
write) is accepted with a warning; bytes that are neither become U+FFFD and an error on the
line where they are. A file that is mostly control bytes, or UTF-16/32, is not a text file
(``binary_reason`` on the first 64 KB).

The reader reads UTF-8 files in one pass (hashing on the way); only when a byte is not UTF-8
does it call ``sniff`` — one streaming pass for the SHA-256 fingerprint, UTF-8 validity and
the first byte valid in neither encoding — and read the file again as Windows-1252. A
UTF-8 byte-order mark in front of Windows-1252 content is skipped (``Sniffed.bom``), never
read as "ï»¿" glued to the first column name.
"""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from typing import BinaryIO

BLOCK = 1 << 20
SAMPLE = 1 << 16
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13)) + b"\x7f"
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True)
class Sniffed:
    fingerprint: str
    size: int
    encoding: str  # "utf-8" | "utf-8-sig" | "cp1252"
    binary_reason: str | None = None  # set when the bytes are not a text file
    bad_byte_offset: int | None = None  # first byte that is valid in neither UTF-8 nor cp1252
    bad_byte_count: int = 0
    bom: bool = False  # starts with a UTF-8 byte-order mark (skipped when read, also as cp1252)


def sniff(stream: BinaryIO) -> Sniffed:
    """Read the stream to its end once; the caller rewinds it."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    utf8_ok = True
    size = 0
    sample = b""
    first = True
    while True:
        block = stream.read(BLOCK)
        if not block:
            break
        digest.update(block)
        if first:
            sample = block[:SAMPLE]
            first = False
        size += len(block)
        if utf8_ok:
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                utf8_ok = False
    if utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False  # truncated multi-byte sequence at the very end
    fingerprint = digest.hexdigest()
    reason = binary_reason(sample)
    if reason:
        return Sniffed(fingerprint, size, "utf-8", binary_reason=reason)
    if utf8_ok:
        return Sniffed(fingerprint, size, "utf-8-sig" if sample.startswith(codecs.BOM_UTF8) else "utf-8")
    # Not UTF-8: is it clean Windows-1252?
    stream.seek(0)
    offset = 0
    bad_at = None
    bad = 0
    while True:
        block = stream.read(BLOCK)
        if not block:
            break
        for b in _CP1252_UNDEFINED:
            n = block.count(b)
            if n:
                bad += n
                at = offset + block.index(b)
                bad_at = at if bad_at is None else min(bad_at, at)
        offset += len(block)
    bom = sample.startswith(codecs.BOM_UTF8)  # an editor added the mark to a Windows-1252 file
    return Sniffed(fingerprint, size, "cp1252", bad_byte_offset=bad_at, bad_byte_count=bad, bom=bom)


_CP1252_UNDEFINED = [bytes([b]) for b in (0x81, 0x8D, 0x8F, 0x90, 0x9D)]


def binary_reason(sample: bytes) -> str | None:
    if sample.startswith(_WIDE_BOMS):
        return "the file is UTF-16/UTF-32 text; save it as UTF-8"
    if not sample:
        return None
    nul = sample.count(0)
    controls = len(sample) - len(sample.translate(None, _CONTROL))
    if nul and (nul * 100 >= len(sample) or nul >= 8):
        return "the file contains NUL bytes (binary data, not a text file)"
    if controls * 20 > len(sample):
        return "the file is mostly control bytes (binary data, not a text file)"
    return None


def line_of_offset(stream: BinaryIO, offset: int) -> int:
    """1-based physical line (LF, CRLF or CR ends) of a byte offset."""
    stream.seek(0)
    data = stream.read(offset)
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1
