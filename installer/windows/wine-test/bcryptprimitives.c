/* Test-only stand-in for Windows 10's bcryptprimitives.dll, which Wine 8.0 lacks.
 * Rust-built extensions (cryptography, bcrypt) import ProcessPrng; here it draws from
 * RtlGenRandom, the system's random source. Used only inside the build's Wine prefix. */
#include <windows.h>
#include <ntsecapi.h>

__declspec(dllexport) const char biller_standin[] = "biller-console wine-test stand-in";

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk)) return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
