#!/usr/bin/env bash
# Signing hook: sign.sh FILE... signs each Windows executable or installer in place with
# osslsigncode (Authenticode, SHA-256) and verifies the signature.
#
#   SIGN_CERT=cert.pem SIGN_KEY=key.pem          a certificate and key in files
#   SIGN_KEY_PASS_FILE=file                      the key's passphrase, read from a file (never an argument)
#   SIGN_PKCS11_MODULE=/usr/lib/…/opensc-pkcs11.so SIGN_KEY=pkcs11:… SIGN_CERT=cert.pem
#                                                a hardware token (how code-signing keys are issued now)
#   SIGN_CA=chain.pem                            the issuing CA chain to verify against (default: SIGN_CERT)
#   SIGN_TIMESTAMP_URL=http://…                  RFC 3161 timestamp server (none is reachable from a build box
#                                                without internet; the signature then expires with the certificate)
# With neither SIGN_CERT nor SIGN_KEY set the files stay unsigned and the script says so.
set -euo pipefail

if [ -z "${SIGN_CERT:-}" ] && [ -z "${SIGN_KEY:-}" ]; then
    for f in "$@"; do echo "sign: UNSIGNED $(basename "$f") (SIGN_CERT/SIGN_KEY not set)"; done
    exit 0
fi
[ -n "${SIGN_CERT:-}" ] && [ -n "${SIGN_KEY:-}" ] || { echo "sign: set both SIGN_CERT and SIGN_KEY" >&2; exit 1; }

args=(-h sha256 -n "Biller Console" -certs "$SIGN_CERT" -key "$SIGN_KEY")
[ -n "${SIGN_PKCS11_MODULE:-}" ] && args+=(-pkcs11module "$SIGN_PKCS11_MODULE")
[ -n "${SIGN_KEY_PASS_FILE:-}" ] && args+=(-readpass "$SIGN_KEY_PASS_FILE")
[ -n "${SIGN_TIMESTAMP_URL:-}" ] && args+=(-ts "$SIGN_TIMESTAMP_URL")

for f in "$@"; do
    osslsigncode sign "${args[@]}" -in "$f" -out "$f.signing" >/dev/null
    mv "$f.signing" "$f"
    # verified against SIGN_CA (the issuing CA's certificate chain) or, for a self-signed test
    # certificate, against the certificate itself
    osslsigncode verify -CAfile "${SIGN_CA:-$SIGN_CERT}" -in "$f" >/dev/null 2>&1 \
        || { echo "sign: $f: signature does not verify against ${SIGN_CA:-$SIGN_CERT}" >&2; exit 1; }
    echo "sign: signed $(basename "$f") ($(osslsigncode verify -in "$f" 2>/dev/null | sed -n 's/.*Subject: //p' | head -1))"
done
