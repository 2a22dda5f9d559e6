#!/usr/bin/env bash
# sign-test.sh EXE: the signing hook works — with SIGN_CERT/SIGN_KEY unset it says UNSIGNED and
# leaves the file alone; with a throw-away self-signed certificate (made here, deleted after) it
# signs a copy of EXE and the signature names that certificate's organisation.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$1" "$tmp/unsigned.exe"
cp "$1" "$tmp/signed.exe"

before=$(sha256sum <"$tmp/unsigned.exe")
out=$(env -u SIGN_CERT -u SIGN_KEY bash "$WIN/sign.sh" "$tmp/unsigned.exe")
echo "$out" | grep -q "UNSIGNED" || { echo "sign-test: no UNSIGNED notice without a certificate" >&2; exit 1; }
[ "$before" = "$(sha256sum <"$tmp/unsigned.exe")" ] || { echo "sign-test: unsigned file was changed" >&2; exit 1; }

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/O=Biller Console throwaway test/CN=sign-test" \
    -addext "extendedKeyUsage=codeSigning" -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null
SIGN_CERT=$tmp/cert.pem SIGN_KEY=$tmp/key.pem bash "$WIN/sign.sh" "$tmp/signed.exe"
winbuild check-signer "$tmp/signed.exe" "Biller Console throwaway test"
echo "sign-test: OK (unsigned without SIGN_CERT/SIGN_KEY; signed and verified with a throw-away certificate)"
