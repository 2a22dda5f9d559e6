/* Test-only stand-in for mscms.dll: Wine 8.0's lacks WcsCreateIccProfile, which Qt's
 * Windows platform plugin (qwindows.dll) imports for the screen's colour profile, and the
 * GUI aborts without it. These four report "no profile", so Qt assumes sRGB. Loaded only in
 * the build's Wine prefix with WINEDLLOVERRIDES=mscms=n; real Windows has the real one. */
#include <windows.h>

__declspec(dllexport) const char biller_standin[] = "biller-console wine-test stand-in";

__declspec(dllexport) HANDLE WINAPI OpenColorProfileW(void *profile, DWORD access, DWORD share, DWORD creation) {
    (void)profile; (void)access; (void)share; (void)creation;
    SetLastError(ERROR_FILE_NOT_FOUND);
    return NULL;
}
__declspec(dllexport) BOOL WINAPI CloseColorProfile(HANDLE profile) { (void)profile; return TRUE; }
__declspec(dllexport) BOOL WINAPI GetColorProfileFromHandle(HANDLE profile, BYTE *buf, DWORD *size) {
    (void)profile; (void)buf; (void)size;
    SetLastError(ERROR_INVALID_HANDLE);
    return FALSE;
}
__declspec(dllexport) HANDLE WINAPI WcsCreateIccProfile(HANDLE profile, DWORD intent) {
    (void)profile; (void)intent;
    SetLastError(ERROR_NOT_SUPPORTED);
    return NULL;
}
