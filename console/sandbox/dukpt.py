"""DUKPT (ANSI X9.24-1, TDES) data-key derivation and SRED track decryption — SANDBOX ONLY.

Production code never decrypts: it forwards the encrypted frame and KSN to the gateway. The
sandbox gateway uses this module to play the processor, with the public ANSI test BDK
``0123456789ABCDEFFEDCBA9876543210`` that IDTech's demo readers are injected with.

Key path (IDTech SRED, reference §4):

1. IPEK from the BDK and the KSN with its 21-bit transaction counter cleared;
2. the current key by the non-reversible key generation process, one step per set counter bit;
3. the data key: current key XOR ``0000000000FF0000 0000000000FF0000``, each half then
   TDES-encrypted (ECB) under that whole variant;
4. TDES-CBC (or, for AES frames, AES-128-CBC under the same 16-byte data key), IV zero.

Decrypted clear data is returned to the caller only; keep it in local variables.
"""

from __future__ import annotations

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from console.devices.sred import SwipedCard

ANSI_TEST_BDK = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")

_KEY_MASK = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")
_DATA_VARIANT = bytes.fromhex("0000000000FF00000000000000FF0000")
_COUNTER_BITS = 21
_COUNTER_MASK = (1 << _COUNTER_BITS) - 1


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def _tdes(key: bytes) -> TripleDES:
    return TripleDES(key + key[:8] if len(key) == 16 else key)  # two-key TDES as K1 K2 K1


def _ecb_encrypt(key: bytes, block: bytes) -> bytes:
    enc = Cipher(_tdes(key), modes.ECB()).encryptor()
    return enc.update(block) + enc.finalize()


def _des_encrypt(key8: bytes, block: bytes) -> bytes:
    return _ecb_encrypt(key8 * 3, block)  # K1 = K2 = K3: single DES


def _ksn_bytes(ksn: str | bytes) -> bytes:
    raw = bytes.fromhex(ksn) if isinstance(ksn, str) else bytes(ksn)
    if len(raw) != 10:
        raise ValueError("a KSN is 10 bytes (20 hex characters)")
    return raw


def ipek(bdk: bytes, ksn: str | bytes) -> bytes:
    """The initial PIN encryption key for the device that produced ``ksn``."""
    raw = _ksn_bytes(ksn)
    base = (int.from_bytes(raw, "big") & ~_COUNTER_MASK).to_bytes(10, "big")[:8]
    left = _ecb_encrypt(bdk, base)
    right = _ecb_encrypt(_xor(bdk, _KEY_MASK), base)
    return left + right


def _non_reversible(key: bytes, register: bytes) -> bytes:
    def half(k: bytes) -> bytes:
        kl, kr = k[:8], k[8:]
        return _xor(_des_encrypt(kl, _xor(register, kr)), kr)

    return half(_xor(key, _KEY_MASK)) + half(key)


def current_key(bdk: bytes, ksn: str | bytes) -> bytes:
    """The transaction key for ``ksn`` (X9.24-1 future-key derivation from the IPEK)."""
    raw = _ksn_bytes(ksn)
    counter = int.from_bytes(raw[-3:], "big") & _COUNTER_MASK
    register = int.from_bytes(raw[2:], "big") & ~_COUNTER_MASK & 0xFFFFFFFFFFFFFFFF
    key = ipek(bdk, raw)
    for shift in range(_COUNTER_BITS - 1, -1, -1):
        bit = 1 << shift
        if counter & bit:
            register |= bit
            key = _non_reversible(key, register.to_bytes(8, "big"))
    return key


def data_key(bdk: bytes, ksn: str | bytes) -> bytes:
    """The data-encryption key IDTech SRED readers use for track data."""
    variant = _xor(current_key(bdk, ksn), _DATA_VARIANT)
    return _ecb_encrypt(variant, variant[:8]) + _ecb_encrypt(variant, variant[8:])


def decrypt_block(key: bytes, data: bytes, encryption: str = "TDES") -> bytes:
    """CBC decryption with a zero IV (TDES, or AES-128 for AES frames)."""
    if encryption == "AES":
        cipher = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))
    else:
        cipher = Cipher(_tdes(key), modes.CBC(bytes(8)))
    dec = cipher.decryptor()
    return dec.update(data) + dec.finalize()


def encrypt_block(key: bytes, data: bytes, encryption: str = "TDES") -> bytes:
    """CBC encryption with a zero IV, zero padded — what a reader does (used by test tools)."""
    size = 16 if encryption == "AES" else 8
    data = data + bytes(-len(data) % size)
    if encryption == "AES":
        cipher = Cipher(algorithms.AES(key), modes.CBC(bytes(16)))
    else:
        cipher = Cipher(_tdes(key), modes.CBC(bytes(8)))
    enc = cipher.encryptor()
    return enc.update(data) + enc.finalize()


def decrypt_tracks(card: SwipedCard, bdk: bytes = ANSI_TEST_BDK) -> tuple[str | None, str | None]:
    """Clear (track 1, track 2) of a swipe, for the sandbox gateway only.

    Keyed entry has no tracks: the keypad's ``PAN=YYMM=[CVV]`` string comes back as track 2
    (track 1 is None). Raises ``ValueError`` if the data does not decrypt to track text
    (wrong BDK or a damaged frame).
    """
    payload = card.payload
    if payload is None:
        raise ValueError("this card read carries no encrypted payload")
    key = data_key(bdk, card.ksn)
    blocks = payload.blocks
    lengths = payload.clear_lengths

    def clear(name: str, raw: bytes, length: int) -> str:
        text = decrypt_block(key, raw, card.encryption)[:length]
        if any(b < 0x20 or b > 0x7E for b in text):
            raise ValueError(f"{name} did not decrypt to track data (wrong key?)")
        return text.decode("ascii")

    if card.format == "keyed":
        return None, clear("keyed data", blocks["keyed"], lengths["keyed"])
    if card.format == "original":
        l1, l2 = lengths.get("track1", 0), lengths.get("track2", 0)
        both = clear("track data", blocks["tracks"], l1 + l2)
        return (both[:l1] or None), (both[l1:l1 + l2] or None)
    t1 = clear("track 1", blocks["track1"], lengths["track1"]) if "track1" in blocks else None
    t2 = clear("track 2", blocks["track2"], lengths["track2"]) if "track2" in blocks else None
    return t1, t2
