import logging

from console.logs import RedactingFilter, redact, setup_logging
from console.paths import Paths
from console.secrets import CASELLE_TOKEN, MemoryBackend, SecretStore, _recommended_backend


def test_memory_only_when_no_secure_backend():
    store = SecretStore("prod", backend=None)
    if _recommended_backend() is None:
        store = SecretStore("prod")
        assert not store.secure
        assert "memory" in store.backend_description
    store.set(CASELLE_TOKEN, "tok-123456")
    assert store.get(CASELLE_TOKEN) == "tok-123456"


def test_keyring_backend_used_per_profile():
    backend = MemoryBackend()
    a, b = SecretStore("a", backend=backend), SecretStore("b", backend=backend)
    a.set(CASELLE_TOKEN, "secret-a")
    assert a.secure and a.get(CASELLE_TOKEN) == "secret-a" and b.get(CASELLE_TOKEN) is None
    a.delete(CASELLE_TOKEN)
    assert a.get(CASELLE_TOKEN) is None


def test_plaintext_backends_are_never_recommended():
    backend = _recommended_backend()
    if backend is not None:
        assert "keyrings.alt" not in type(backend).__module__


def test_redact_card_data_tokens_and_known_secrets():
    line = ("pan 4111 1111 1111 1111 track %B4111111111111111^DOE/J^2412?;4111111111111111=2412?"
            " Bearer eyJabc.def password=hunter22 client secret s3cr3t-value amount 1234.56")
    out = redact(line, ["s3cr3t-value"])
    for leaked in ("4111", "hunter22", "eyJabc", "s3cr3t-value", "DOE/J"):
        assert leaked not in out
    assert "1234.56" in out


def test_log_file_never_holds_secrets_or_card_numbers():
    paths = Paths.default().ensure()
    store = SecretStore("sandbox", backend=MemoryBackend())
    store.set(CASELLE_TOKEN, "ZZ-known-secret-ZZ")
    handler = setup_logging(paths, secret_source=store.known_values)
    log = logging.getLogger("test.redaction")
    log.info("token is %s", "ZZ-known-secret-ZZ")
    log.warning("swiped 5500005555555559 for %s", "acct 100123-01")
    try:
        raise RuntimeError("failed with Bearer abc.def.ghi")
    except RuntimeError:
        log.exception("call failed")
    handler.flush()
    text = paths.log_file.read_text()
    assert "ZZ-known-secret-ZZ" not in text
    assert "5500005555555559" not in text
    assert "abc.def.ghi" not in text
    assert "acct 100123-01" in text
    logging.getLogger().removeHandler(handler)
    handler.close()


def test_filter_survives_bad_format_strings():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "bad %d", ("nan",), None)
    assert RedactingFilter().filter(record)


def test_a_frame_cut_short_is_still_redacted():
    frame = "029C01801F322400839B%*4124********9990^TEST/BLUEFIN^****?*;4124********9990=****?*" + "C0A0ECE0C2E62E45" * 6
    for text in (frame, frame[:-2], frame[:90]):
        out = redact(f"read failed: {text}")
        assert "C0A0ECE0" not in out and "TEST/BLUEFIN" not in out
