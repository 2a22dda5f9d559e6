"""Who signed a Windows file, from ``osslsigncode verify`` (the Windows CPython we build with).

The chain's Microsoft root is not in Debian's certificate store, so the chain cannot be
verified here: what is checked is that the digest in the signature matches the file and that
the signer's certificate names the expected organisation.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

_DIGESTS = re.compile(r"Current message digest\s*:\s*([0-9A-F]+)\s*\nCalculated message digest\s*:\s*([0-9A-F]+)")
_SIGNER = re.compile(r"Signer #0:\s*\n\s*Subject:\s*(.+)")


class SignerError(Exception):
    pass


def signer_of(report: str) -> str:
    """The first signer's organisation (``O=``) from an ``osslsigncode verify`` report, if the digest matches."""
    digests = _DIGESTS.search(report)
    if not digests:
        raise SignerError("no Authenticode signature")
    if digests.group(1) != digests.group(2):
        raise SignerError("the file was changed after it was signed (digest mismatch)")
    subject = _SIGNER.search(report)
    org = re.search(r"/O=([^/]+)", subject.group(1)) if subject else None
    if not org:
        raise SignerError("the signature names no signer organisation")
    return org.group(1).strip()


def require_signer(path: Path, org: str) -> str:
    out = subprocess.run(["osslsigncode", "verify", "-in", str(path)], capture_output=True, text=True)
    who = signer_of(out.stdout + out.stderr)
    if who != org:
        raise SignerError(f"{path.name} is signed by {who!r}, not {org!r}")
    return who
