/*
 * libnssguard-refresh.so: a PKCS#11 module with no slots, loaded and
 * unloaded by the nssguard extension to make a running Firefox drop the
 * certificate trust it cached.
 *
 * Firefox clears its certificate verifier's trust cache whenever a PKCS#11
 * module is added to or deleted from its module database
 * (nsIPKCS11ModuleDB addModule/deleteModule, which browser.pkcs11's
 * installModule and uninstallModule call). Adding and deleting this module
 * is the supported way to trigger that, without touching libnssguard.so,
 * which stays loaded and picks up the new overlay by itself. A module with
 * no slots serves nothing, holds nothing and can be loaded and unloaded
 * any number of times.
 */
#include "config.h"

#include <string.h>

#include <pkcs11.h>

#define EXPORT __attribute__((visibility("default")))

static CK_FUNCTION_LIST refresh_functions;
static int initialized;

static CK_RV
refresh_initialize(CK_VOID_PTR args)
{
    (void)args;
    if (initialized)
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    initialized = 1;
    return CKR_OK;
}

static CK_RV
refresh_finalize(CK_VOID_PTR reserved)
{
    if (reserved != NULL)
        return CKR_ARGUMENTS_BAD;
    if (!initialized)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    initialized = 0;
    return CKR_OK;
}

static void
pad(CK_UTF8CHAR *dst, size_t size, const char *src)
{
    memset(dst, ' ', size);
    memcpy(dst, src, strlen(src) < size ? strlen(src) : size);
}

static CK_RV
refresh_get_info(CK_INFO_PTR info)
{
    if (info == NULL)
        return CKR_ARGUMENTS_BAD;
    if (!initialized)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    memset(info, 0, sizeof(*info));
    info->cryptokiVersion.major = 2;
    info->cryptokiVersion.minor = 40;
    pad(info->manufacturerID, sizeof(info->manufacturerID), "nssguard");
    pad(info->libraryDescription, sizeof(info->libraryDescription), "nssguard trust refresh");
    info->libraryVersion.major = 1;
    return CKR_OK;
}

static CK_RV
refresh_get_slot_list(CK_BBOOL present, CK_SLOT_ID_PTR list, CK_ULONG_PTR count)
{
    (void)present;
    (void)list;
    if (count == NULL)
        return CKR_ARGUMENTS_BAD;
    if (!initialized)
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    *count = 0; /* no slots, ever */
    return CKR_OK;
}

static CK_RV
refresh_no_slot(CK_SLOT_ID slot, void *p)
{
    (void)slot;
    (void)p;
    return initialized ? CKR_SLOT_ID_INVALID : CKR_CRYPTOKI_NOT_INITIALIZED;
}

static CK_RV
refresh_slot_info(CK_SLOT_ID slot, CK_SLOT_INFO_PTR info)
{
    return refresh_no_slot(slot, info);
}

static CK_RV
refresh_token_info(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
    return refresh_no_slot(slot, info);
}

static CK_RV
refresh_mechanisms(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR count)
{
    (void)count;
    return refresh_no_slot(slot, list);
}

static CK_RV
refresh_open_session(CK_SLOT_ID slot, CK_FLAGS flags, CK_VOID_PTR app, CK_NOTIFY notify,
                     CK_SESSION_HANDLE_PTR session)
{
    (void)flags;
    (void)app;
    (void)notify;
    return refresh_no_slot(slot, session);
}

static CK_RV
refresh_close_all(CK_SLOT_ID slot)
{
    return refresh_no_slot(slot, NULL);
}

/* Nothing ever happens in a module without slots. */
static CK_RV
refresh_wait_for_slot_event(CK_FLAGS flags, CK_SLOT_ID_PTR slot, CK_VOID_PTR reserved)
{
    (void)flags;
    (void)slot;
    (void)reserved;
    return CKR_FUNCTION_NOT_SUPPORTED;
}

EXPORT CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
    if (list == NULL)
        return CKR_ARGUMENTS_BAD;
    refresh_functions.version.major = 2;
    refresh_functions.version.minor = 40;
    refresh_functions.C_Initialize = refresh_initialize;
    refresh_functions.C_Finalize = refresh_finalize;
    refresh_functions.C_GetInfo = refresh_get_info;
    refresh_functions.C_GetFunctionList = C_GetFunctionList;
    refresh_functions.C_GetSlotList = refresh_get_slot_list;
    refresh_functions.C_GetSlotInfo = refresh_slot_info;
    refresh_functions.C_GetTokenInfo = refresh_token_info;
    refresh_functions.C_GetMechanismList = refresh_mechanisms;
    refresh_functions.C_OpenSession = refresh_open_session;
    refresh_functions.C_CloseAllSessions = refresh_close_all;
    refresh_functions.C_WaitForSlotEvent = refresh_wait_for_slot_event;
    *list = &refresh_functions;
    return CKR_OK;
}
