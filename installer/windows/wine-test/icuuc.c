/* Test-only stand-in for Windows 10's system ICU (icuuc.dll), which Wine 8.0 lacks.
 * Qt6Core imports the ucnv_* converter functions; this one offers no converter at all
 * (ucnv_open fails, no names are listed), so Qt falls back to its own UTF-8/UTF-16/Latin-1
 * codecs. Real Windows has the real ICU. Used only inside the build's Wine prefix. */
#include <stddef.h>

#define U_FILE_ACCESS_ERROR 4
#define EXPORT __declspec(dllexport)

EXPORT const char biller_standin[] = "biller-console wine-test stand-in";

EXPORT void *ucnv_open(const char *name, int *err) { (void)name; if (err) *err = U_FILE_ACCESS_ERROR; return NULL; }
EXPORT int ucnv_countAvailable(void) { return 0; }
EXPORT const char *ucnv_getAvailableName(int n) { (void)n; return NULL; }
EXPORT const char *ucnv_getStandardName(const char *name, const char *std, int *err) {
    (void)name; (void)std; if (err) *err = U_FILE_ACCESS_ERROR; return NULL;
}
/* Never reached without an open converter; present because Qt6Core imports them. */
static int unavailable(void) { return 0; }
#define UNAVAILABLE(name) EXPORT int name(void) { return unavailable(); }
UNAVAILABLE(ucnv_close) UNAVAILABLE(ucnv_reset) UNAVAILABLE(ucnv_getMaxCharSize) UNAVAILABLE(ucnv_getName)
UNAVAILABLE(ucnv_getToUCallBack) UNAVAILABLE(ucnv_getFromUCallBack) UNAVAILABLE(ucnv_setToUCallBack)
UNAVAILABLE(ucnv_setFromUCallBack) UNAVAILABLE(ucnv_cbToUWriteUChars) UNAVAILABLE(ucnv_toUnicode)
UNAVAILABLE(ucnv_cbFromUWriteUChars) UNAVAILABLE(ucnv_toUCountPending) UNAVAILABLE(ucnv_fromUCountPending)
UNAVAILABLE(ucnv_fromUnicode) UNAVAILABLE(UCNV_FROM_U_CALLBACK_SUBSTITUTE) UNAVAILABLE(UCNV_TO_U_CALLBACK_SUBSTITUTE)
