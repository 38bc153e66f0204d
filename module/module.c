/*
 * module.c: the PKCS#11 entry points. Each one (mod_C_*) checks that the module is
 * initialised, looks up its session, calls one function of another stage,
 * and passes its return code through allowed(), so that no internal code
 * reaches NSS as a value it does not expect.
 *
 * One slot (ID 1) with a read-only token. No CKF_HW_SLOT (NSS then caches
 * trust objects without CKA_SERIAL_NUMBER and every lookup misses) and no
 * CKO_NSS_BUILTIN_ROOT_LIST object (NSS would then rank this token below
 * the user's database): see README, "How distrust can be lost".
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define SLOT_ID 1
#define NG_VISIBLE __attribute__((visibility("default")))

/* The module's mutable state, every stage's (internal.h lists it). */
ng_state ng = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .reload_lock = PTHREAD_MUTEX_INITIALIZER,
    .epoch = 1,
    .next_id = 1,
    .sessions = {.open_lock = PTHREAD_MUTEX_INITIALIZER, .sequence = 1},
    .log = {.sinks = NG_LOG_SYSLOG, .repeats_lock = PTHREAD_MUTEX_INITIALIZER},
    .trace = {.fd = -1},
};
/* Static, not in ng: a pthread_once_t cannot be reset, and the handler is
 * registered once per process (a child inherits the registration). */
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static CK_FUNCTION_LIST function_list; /* constant: the entry points below */

/* The codes this module ever returns on purpose; anything else is a bug
 * and becomes CKR_GENERAL_ERROR. */
static CK_RV
allowed(CK_RV rv)
{
    static const CK_RV codes[] = {
        CKR_OK,
        CKR_ARGUMENTS_BAD,
        CKR_ATTRIBUTE_TYPE_INVALID,
        CKR_BUFFER_TOO_SMALL,
        CKR_CANT_LOCK,
        CKR_CRYPTOKI_ALREADY_INITIALIZED,
        CKR_CRYPTOKI_NOT_INITIALIZED,
        CKR_FUNCTION_NOT_PARALLEL,
        CKR_FUNCTION_NOT_SUPPORTED,
        CKR_GENERAL_ERROR,
        CKR_HOST_MEMORY,
        CKR_MECHANISM_INVALID,
        CKR_OBJECT_HANDLE_INVALID,
        CKR_OPERATION_ACTIVE,
        CKR_OPERATION_NOT_INITIALIZED,
        CKR_SESSION_COUNT,
        CKR_SESSION_HANDLE_INVALID,
        CKR_SESSION_PARALLEL_NOT_SUPPORTED,
        CKR_SLOT_ID_INVALID,
        CKR_TOKEN_WRITE_PROTECTED,
        CKR_USER_NOT_LOGGED_IN,
    };
    for (size_t i = 0; i < NG_N_ELEMENTS(codes); i++) {
        if (codes[i] == rv)
            return rv;
    }
    return CKR_GENERAL_ERROR;
}

/* Initialised in this process? A fork()ed child of an initialised parent
 * is too: it answers from the generation it inherited (see forked_child).
 * An atomic flag, not getpid() on every call: that is a system call (glibc
 * no longer caches the pid), and it took a third of a trust lookup's time. */
static bool
is_initialized(void)
{
    return __atomic_load_n(&ng.initialized, __ATOMIC_ACQUIRE);
}

/*
 * The one fork handler, in the child (one thread), and the one place that
 * says what a child of fork() keeps and what it remakes.
 *
 * PKCS#11 says the child must call C_Initialize before using the module;
 * NSS's own database keeps working without it, so a module that answered
 * CKR_CRYPTOKI_NOT_INITIALIZED would let the child accept the chains it
 * distrusts, silently. Instead the child keeps answering from its copy of
 * the parent's state, ng (internal.h):
 *
 *   kept     the configuration, the current generation (immutable once
 *            published, copy-on-write), the sessions and their handles, the
 *            roots (ng.roots), the log's sinks and counters (ng.log), the
 *            tracing (ng.trace), initialized.
 *   remade   every lock a parent thread may have held: ng.lock, the reload
 *            lock, the session table's open_lock and each slot's lock,
 *            log.c's repeats_lock.
 *   set      forked, when initialized: the child never reloads nor frees a
 *            generation (overlay.c's poll and reclaim do nothing), since the
 *            reload under way and the retired generations are the parent's.
 *
 * Its C_Initialize or C_Finalize then forgets what it inherited without the
 * parent's locks (forget_parent) and starts afresh.
 */
static void
forked_child(void)
{
    pthread_mutex_init(&ng.lock, NULL);
    pthread_mutex_init(&ng.reload_lock, NULL); /* ng.reloading says if it was held */
    pthread_mutex_init(&ng.sessions.open_lock, NULL);
    for (size_t c = 0; c < NG_SESSION_CHUNKS; c++) {
        for (size_t i = 0; ng.sessions.chunks[c] && i < NG_SESSION_CHUNK; i++)
            pthread_mutex_init(&ng.sessions.chunks[c][i].lock, NULL);
    }
    pthread_mutex_init(&ng.log.repeats_lock, NULL);
    if (__atomic_load_n(&ng.initialized, __ATOMIC_RELAXED))
        __atomic_store_n(&ng.forked, true, __ATOMIC_RELAXED);
}

static void
register_fork_handler(void)
{
    pthread_atfork(NULL, NULL, forked_child);
}

/* In a forked child, at its C_Initialize or C_Finalize: drop what it
 * inherited (this process's copies) without the parent's locks. */
static void
forget_parent(void)
{
    ng_sessions_forget();
    ng_overlays_forget();
    ng_builtins_free();
    ng_config_clear(&ng.config);
    __atomic_store_n(&ng.forked, false, __ATOMIC_RELAXED);
    __atomic_store_n(&ng.initialized, false, __ATOMIC_RELEASE);
}

static void
pad(CK_UTF8CHAR *field, size_t size, const char *text)
{
    size_t n = strlen(text);

    memset(field, ' ', size);
    memcpy(field, text, n < size ? n : size);
}

static CK_RV
check_init_args(const CK_C_INITIALIZE_ARGS *args)
{
    int given;

    if (!args)
        return CKR_OK;
    given = !!args->CreateMutex + !!args->DestroyMutex + !!args->LockMutex + !!args->UnlockMutex;
    if (given != 0 && given != 4)
        return CKR_ARGUMENTS_BAD;
    /* Callbacks without CKF_OS_LOCKING_OK would oblige us to use them. */
    if (given == 4 && !(args->flags & CKF_OS_LOCKING_OK))
        return CKR_CANT_LOCK;
    return CKR_OK;
}

/* mode=builtins: the roots must load, or the module would stand in for
 * libnssckbi.so with no roots at all. */
static bool
load_builtins(const char *params)
{
    ng_error err;

    if (!ng.config.roots) {
        ng_error_set(&err, params ? "parameters" : ng.config.source, 0,
                     "mode=builtins needs roots=PATH (a certdata.txt)");
    } else if (ng_builtins_load(ng.config.roots, &err)) {
        return true;
    }
    ng_log_event(NG_EV_CONFIG_ERROR, "error", err.msg, NULL);
    return false;
}

/* A configuration file's bad lines (or the file that could not be read):
 * the module serves with the rest, and says so at err priority to syslog
 * as well as to the configured sinks, the log file among them. */
static void
report_config_errors(void)
{
    ng_config loud = ng.config; /* a shallow copy, for its sinks */
    char more[64];

    if (!ng.config.n_errors)
        return;
    loud.log_sinks |= NG_LOG_SYSLOG;
    ng_log_configure(&loud);
    for (size_t i = 0; i < ng.config.n_errors && ng.config.errors[i]; i++)
        ng_log_event(NG_EV_CONFIG_ERROR, "error", ng.config.errors[i], "config", ng.config.source,
                     "using", "the other settings", NULL);
    if (ng.config.n_errors > NG_CONFIG_ERRORS_KEPT) {
        snprintf(more, sizeof(more), "%zu more bad lines",
                 ng.config.n_errors - NG_CONFIG_ERRORS_KEPT);
        ng_log_event(NG_EV_CONFIG_ERROR, "error", more, "config", ng.config.source, "using",
                     "the other settings", NULL);
    }
    ng_log_configure(&ng.config);
}

static CK_RV
initialize(const CK_C_INITIALIZE_ARGS *args)
{
    /* NSS passes the module's parameter string in the standard struct's
     * pReserved, which NSS's header calls LibraryParameters (its header adds
     * a sixth field that other callers do not have: never read it). */
    const char *params = args ? (const char *)args->LibraryParameters : NULL;
    bool forked = __atomic_load_n(&ng.forked, __ATOMIC_RELAXED);
    ng_error err;
    CK_RV rv;

    if (is_initialized() && !forked)
        return CKR_CRYPTOKI_ALREADY_INITIALIZED;
    rv = check_init_args(args);
    if (rv != CKR_OK)
        return rv;
    if (forked) /* a forked child: forget the parent's state, start afresh */
        forget_parent();
    if (!ng_config_load(&ng.config, params, &err)) {
        /* a bad parameter string: refused, where the caller sees it at once */
        ng_config_clear(&ng.config);
        ng_config_init_defaults(&ng.config);
        ng.config.log_sinks |= NG_LOG_STDERR;
        ng_log_configure(&ng.config);
        ng_log_event(NG_EV_CONFIG_ERROR, "error", err.msg, NULL);
        ng_config_clear(&ng.config);
        return CKR_ARGUMENTS_BAD;
    }
    ng_log_configure(&ng.config);
    report_config_errors();
    if (ng.config.mode == NG_MODE_BUILTINS && !load_builtins(params)) {
        ng_config_clear(&ng.config);
        return params ? CKR_ARGUMENTS_BAD : CKR_GENERAL_ERROR;
    }
    if (!ng_overlays_start(&ng.config)) {
        ng_builtins_free();
        ng_config_clear(&ng.config);
        return CKR_HOST_MEMORY;
    }
    pthread_once(&atfork_once, register_fork_handler);
    __atomic_store_n(&ng.initialized, true, __ATOMIC_RELEASE);
    return CKR_OK;
}

static CK_RV
mod_C_Initialize(CK_VOID_PTR pInitArgs)
{
    CK_RV rv;

    pthread_mutex_lock(&ng.lock);
    rv = initialize(pInitArgs);
    pthread_mutex_unlock(&ng.lock);
    return allowed(rv);
}

static CK_RV
mod_C_Finalize(CK_VOID_PTR pReserved)
{
    CK_RV rv = CKR_OK;

    pthread_mutex_lock(&ng.lock);
    if (pReserved)
        rv = CKR_ARGUMENTS_BAD;
    else if (!is_initialized())
        rv = CKR_CRYPTOKI_NOT_INITIALIZED;
    else if (__atomic_load_n(&ng.forked, __ATOMIC_RELAXED)) {
        forget_parent(); /* the parent's locks are not this process's to take */
        ng_log_close();
    } else {
        ng_sessions_free();
        ng_overlays_stop();
        ng_builtins_free();
        ng_config_clear(&ng.config);
        ng_log_close();
        __atomic_store_n(&ng.initialized, false, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&ng.lock);
    return allowed(rv);
}

static CK_RV
mod_C_GetInfo(CK_INFO_PTR pInfo)
{
    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (!pInfo)
        return CKR_ARGUMENTS_BAD;
    memset(pInfo, 0, sizeof(*pInfo));
    pInfo->cryptokiVersion.major = 2;
    pInfo->cryptokiVersion.minor = 40;
    /* GnuTLS believes CKA_X_DISTRUSTED only from a library whose
     * manufacturer starts "PKCS#11 Kit" (lib/pkcs11.c, find_cert_cb) */
    pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID),
        ng.config.mode == NG_MODE_P11KIT ? "PKCS#11 Kit (nssguard)" : "nssguard");
    pad(pInfo->libraryDescription, sizeof(pInfo->libraryDescription), "nssguard distrust overlay");
    pInfo->libraryVersion.major = 0;
    pInfo->libraryVersion.minor = 1;
    return CKR_OK;
}

static CK_RV
mod_C_GetSlotList(CK_BBOOL tokenPresent, CK_SLOT_ID_PTR pSlotList, CK_ULONG_PTR pulCount)
{
    CK_RV rv = CKR_OK;

    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (!pulCount)
        return CKR_ARGUMENTS_BAD;
    if (pSlotList) {
        if (*pulCount < 1)
            rv = CKR_BUFFER_TOO_SMALL;
        else
            pSlotList[0] = SLOT_ID;
    }
    *pulCount = 1;
    return rv;
}

/* The checks every slot call starts with: initialised, our slot, and (when
 * the call writes through one) a pointer to write to. */
static CK_RV
check_slot(CK_SLOT_ID slotID, const void *out)
{
    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (slotID != SLOT_ID)
        return CKR_SLOT_ID_INVALID;
    return out ? CKR_OK : CKR_ARGUMENTS_BAD;
}

static CK_RV
mod_C_GetSlotInfo(CK_SLOT_ID slotID, CK_SLOT_INFO_PTR pInfo)
{
    CK_RV rv = check_slot(slotID, pInfo);

    if (rv != CKR_OK)
        return rv;
    memset(pInfo, 0, sizeof(*pInfo));
    pad(pInfo->slotDescription, sizeof(pInfo->slotDescription), "nssguard distrust overlay");
    pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "nssguard");
    pInfo->flags = CKF_TOKEN_PRESENT; /* never CKF_HW_SLOT */
    return CKR_OK;
}

static CK_RV
mod_C_GetTokenInfo(CK_SLOT_ID slotID, CK_TOKEN_INFO_PTR pInfo)
{
    CK_RV rv = check_slot(slotID, pInfo);

    if (rv != CKR_OK)
        return rv;
    memset(pInfo, 0, sizeof(*pInfo));
    pad(pInfo->label, sizeof(pInfo->label), "nssguard distrust overlay");
    pad(pInfo->manufacturerID, sizeof(pInfo->manufacturerID), "nssguard");
    pad(pInfo->model, sizeof(pInfo->model), "overlay");
    pad(pInfo->serialNumber, sizeof(pInfo->serialNumber), "1");
    pInfo->flags = CKF_WRITE_PROTECTED | CKF_TOKEN_INITIALIZED;
    pInfo->ulMaxSessionCount = CK_EFFECTIVELY_INFINITE;
    pInfo->ulSessionCount = ng_sessions_count();
    pInfo->ulMaxRwSessionCount = 0;
    pInfo->ulRwSessionCount = 0;
    pInfo->ulTotalPublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePublicMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulTotalPrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pInfo->ulFreePrivateMemory = CK_UNAVAILABLE_INFORMATION;
    pad(pInfo->utcTime, sizeof(pInfo->utcTime), "");
    return CKR_OK;
}

static CK_RV
mod_C_GetMechanismList(CK_SLOT_ID slotID, CK_MECHANISM_TYPE_PTR pMechanismList,
                       CK_ULONG_PTR pulCount)
{
    CK_RV rv = check_slot(slotID, pulCount);

    if (rv != CKR_OK)
        return rv;
    *pulCount = 0;
    return CKR_OK;
}

static CK_RV
mod_C_GetMechanismInfo(CK_SLOT_ID slotID, CK_MECHANISM_TYPE type, CK_MECHANISM_INFO_PTR pInfo)
{
    CK_RV rv = check_slot(slotID, &type);

    return rv != CKR_OK ? rv : CKR_MECHANISM_INVALID;
}

static CK_RV
mod_C_OpenSession(CK_SLOT_ID slotID, CK_FLAGS flags, CK_VOID_PTR pApplication, CK_NOTIFY Notify,
                  CK_SESSION_HANDLE_PTR phSession)
{
    CK_RV rv;

    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (slotID != SLOT_ID)
        return CKR_SLOT_ID_INVALID;
    if (!(flags & CKF_SERIAL_SESSION))
        return CKR_SESSION_PARALLEL_NOT_SUPPORTED;
    if (flags & CKF_RW_SESSION)
        return CKR_TOKEN_WRITE_PROTECTED;
    if (!phSession)
        return CKR_ARGUMENTS_BAD;
    rv = ng_session_open(flags, phSession);
    return allowed(rv);
}

static CK_RV
mod_C_CloseSession(CK_SESSION_HANDLE hSession)
{
    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    return allowed(ng_session_close(hSession));
}

static CK_RV
mod_C_CloseAllSessions(CK_SLOT_ID slotID)
{
    CK_RV rv = check_slot(slotID, &slotID);

    if (rv != CKR_OK)
        return rv;
    ng_sessions_close_all();
    return CKR_OK;
}

static CK_RV
mod_C_GetSessionInfo(CK_SESSION_HANDLE hSession, CK_SESSION_INFO_PTR pInfo)
{
    ng_session *s;
    CK_RV rv;

    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    rv = ng_session_acquire(hSession, &s);
    if (rv != CKR_OK)
        return allowed(rv);
    if (pInfo) {
        pInfo->slotID = SLOT_ID;
        pInfo->state = CKS_RO_PUBLIC_SESSION;
        pInfo->flags = s->flags;
        pInfo->ulDeviceError = 0;
    } else {
        rv = CKR_ARGUMENTS_BAD;
    }
    ng_session_release(s);
    return allowed(rv);
}

static CK_RV
mod_C_FindObjectsInit(CK_SESSION_HANDLE hSession, CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    ng_session *s;
    CK_RV rv;

    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (!pTemplate && ulCount)
        return CKR_ARGUMENTS_BAD;
    ng_overlays_poll(); /* files changed? (rate-limited, never waits) */
    rv = ng_session_acquire(hSession, &s);
    if (rv != CKR_OK)
        return allowed(rv);
    if (s->finding) {
        rv = CKR_OPERATION_ACTIVE;
    } else {
        ng_session_pin(s); /* this search reads the current generation */
        rv = ng_objects_find(s->cur, pTemplate, ulCount, &s->find);
        s->finding = rv == CKR_OK;
    }
    ng_session_release(s);
    return allowed(rv);
}

static CK_RV
mod_C_FindObjects(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE_PTR phObject,
                  CK_ULONG ulMaxObjectCount, CK_ULONG_PTR pulObjectCount)
{
    ng_session *s;
    CK_RV rv;

    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (!phObject || !pulObjectCount)
        return CKR_ARGUMENTS_BAD;
    rv = ng_session_acquire(hSession, &s);
    if (rv != CKR_OK)
        return allowed(rv);
    if (!s->finding) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        CK_ULONG n = 0;
        while (n < ulMaxObjectCount && s->find.pos < s->find.n) {
            phObject[n] = s->find.handles[s->find.pos++];
            if (s->find.trust_query) /* a trust query answered with distrust */
                ng_objects_report(s->find.overlay, phObject[n]);
            n++;
        }
        *pulObjectCount = n;
    }
    ng_session_release(s);
    return allowed(rv);
}

static CK_RV
mod_C_FindObjectsFinal(CK_SESSION_HANDLE hSession)
{
    ng_session *s;
    CK_RV rv;

    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    rv = ng_session_acquire(hSession, &s);
    if (rv != CKR_OK)
        return allowed(rv);
    if (!s->finding) {
        rv = CKR_OPERATION_NOT_INITIALIZED;
    } else {
        ng_find_clear(&s->find);
        s->finding = false;
    }
    ng_session_release(s);
    return allowed(rv);
}

static CK_RV
mod_C_GetAttributeValue(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject,
                        CK_ATTRIBUTE_PTR pTemplate, CK_ULONG ulCount)
{
    ng_session *s;
    CK_RV rv;

    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (!pTemplate && ulCount)
        return CKR_ARGUMENTS_BAD;
    rv = ng_session_acquire(hSession, &s);
    if (rv != CKR_OK)
        return allowed(rv);
    rv = ng_objects_get_attributes(ng_session_overlay_of(s, hObject), hObject, pTemplate, ulCount);
    ng_session_release(s);
    return allowed(rv);
}

static CK_RV
mod_C_GetObjectSize(CK_SESSION_HANDLE hSession, CK_OBJECT_HANDLE hObject, CK_ULONG_PTR pulSize)
{
    ng_session *s;
    CK_RV rv;

    if (!is_initialized())
        return CKR_CRYPTOKI_NOT_INITIALIZED;
    if (!pulSize)
        return CKR_ARGUMENTS_BAD;
    rv = ng_session_acquire(hSession, &s);
    if (rv != CKR_OK)
        return allowed(rv);
    if (ng_objects_valid(ng_session_overlay_of(s, hObject), hObject))
        *pulSize = CK_UNAVAILABLE_INFORMATION;
    else
        rv = CKR_OBJECT_HANDLE_INVALID;
    ng_session_release(s);
    return allowed(rv);
}

static CK_RV
mod_C_GetFunctionStatus(CK_SESSION_HANDLE hSession)
{
    return is_initialized() ? CKR_FUNCTION_NOT_PARALLEL : CKR_CRYPTOKI_NOT_INITIALIZED;
}

static CK_RV
mod_C_CancelFunction(CK_SESSION_HANDLE hSession)
{
    return is_initialized() ? CKR_FUNCTION_NOT_PARALLEL : CKR_CRYPTOKI_NOT_INITIALIZED;
}

/*
 * Everything else: a read-only trust token has no keys, no login and no
 * objects to create. Each returns CKR_FUNCTION_NOT_SUPPORTED.
 */
#define UNSUPPORTED(name, params)                                                                  \
    static CK_RV name params                                                                       \
    {                                                                                              \
        return CKR_FUNCTION_NOT_SUPPORTED;                                                         \
    }

/* clang-format off */
UNSUPPORTED(mod_C_InitToken, (CK_SLOT_ID a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d))
UNSUPPORTED(mod_C_InitPIN, (CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c))
UNSUPPORTED(mod_C_SetPIN, (CK_SESSION_HANDLE a, CK_UTF8CHAR_PTR b, CK_ULONG c, CK_UTF8CHAR_PTR d, CK_ULONG e))
UNSUPPORTED(mod_C_GetOperationState, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c))
UNSUPPORTED(mod_C_SetOperationState, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_OBJECT_HANDLE d, CK_OBJECT_HANDLE e))
UNSUPPORTED(mod_C_Login, (CK_SESSION_HANDLE a, CK_USER_TYPE b, CK_UTF8CHAR_PTR c, CK_ULONG d))
UNSUPPORTED(mod_C_Logout, (CK_SESSION_HANDLE a))
UNSUPPORTED(mod_C_CreateObject, (CK_SESSION_HANDLE a, CK_ATTRIBUTE_PTR b, CK_ULONG c, CK_OBJECT_HANDLE_PTR d))
UNSUPPORTED(mod_C_CopyObject, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c, CK_ULONG d, CK_OBJECT_HANDLE_PTR e))
UNSUPPORTED(mod_C_DestroyObject, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b))
UNSUPPORTED(mod_C_SetAttributeValue, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b, CK_ATTRIBUTE_PTR c, CK_ULONG d))
UNSUPPORTED(mod_C_EncryptInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c))
UNSUPPORTED(mod_C_Encrypt, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_EncryptUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_EncryptFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c))
UNSUPPORTED(mod_C_DecryptInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c))
UNSUPPORTED(mod_C_Decrypt, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_DecryptUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_DecryptFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c))
UNSUPPORTED(mod_C_DigestInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b))
UNSUPPORTED(mod_C_Digest, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_DigestUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
UNSUPPORTED(mod_C_DigestKey, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b))
UNSUPPORTED(mod_C_DigestFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c))
UNSUPPORTED(mod_C_SignInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c))
UNSUPPORTED(mod_C_Sign, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_SignUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
UNSUPPORTED(mod_C_SignFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG_PTR c))
UNSUPPORTED(mod_C_SignRecoverInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c))
UNSUPPORTED(mod_C_SignRecover, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_VerifyInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c))
UNSUPPORTED(mod_C_Verify, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG e))
UNSUPPORTED(mod_C_VerifyUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
UNSUPPORTED(mod_C_VerifyFinal, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
UNSUPPORTED(mod_C_VerifyRecoverInit, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c))
UNSUPPORTED(mod_C_VerifyRecover, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_DigestEncryptUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_DecryptDigestUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_SignEncryptUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_DecryptVerifyUpdate, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c, CK_BYTE_PTR d, CK_ULONG_PTR e))
UNSUPPORTED(mod_C_GenerateKey, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c, CK_ULONG d, CK_OBJECT_HANDLE_PTR e))
UNSUPPORTED(mod_C_GenerateKeyPair, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_ATTRIBUTE_PTR c, CK_ULONG d, CK_ATTRIBUTE_PTR e, CK_ULONG f, CK_OBJECT_HANDLE_PTR g, CK_OBJECT_HANDLE_PTR h))
UNSUPPORTED(mod_C_WrapKey, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_OBJECT_HANDLE d, CK_BYTE_PTR e, CK_ULONG_PTR f))
UNSUPPORTED(mod_C_UnwrapKey, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_BYTE_PTR d, CK_ULONG e, CK_ATTRIBUTE_PTR f, CK_ULONG g, CK_OBJECT_HANDLE_PTR h))
UNSUPPORTED(mod_C_DeriveKey, (CK_SESSION_HANDLE a, CK_MECHANISM_PTR b, CK_OBJECT_HANDLE c, CK_ATTRIBUTE_PTR d, CK_ULONG e, CK_OBJECT_HANDLE_PTR f))
UNSUPPORTED(mod_C_SeedRandom, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
UNSUPPORTED(mod_C_GenerateRandom, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c))
UNSUPPORTED(mod_C_WaitForSlotEvent, (CK_FLAGS a, CK_SLOT_ID_PTR b, CK_VOID_PTR c))
/* clang-format on */

static CK_FUNCTION_LIST function_list = {
    {2, 40},
    mod_C_Initialize,
    mod_C_Finalize,
    mod_C_GetInfo,
    C_GetFunctionList,
    mod_C_GetSlotList,
    mod_C_GetSlotInfo,
    mod_C_GetTokenInfo,
    mod_C_GetMechanismList,
    mod_C_GetMechanismInfo,
    mod_C_InitToken,
    mod_C_InitPIN,
    mod_C_SetPIN,
    mod_C_OpenSession,
    mod_C_CloseSession,
    mod_C_CloseAllSessions,
    mod_C_GetSessionInfo,
    mod_C_GetOperationState,
    mod_C_SetOperationState,
    mod_C_Login,
    mod_C_Logout,
    mod_C_CreateObject,
    mod_C_CopyObject,
    mod_C_DestroyObject,
    mod_C_GetObjectSize,
    mod_C_GetAttributeValue,
    mod_C_SetAttributeValue,
    mod_C_FindObjectsInit,
    mod_C_FindObjects,
    mod_C_FindObjectsFinal,
    mod_C_EncryptInit,
    mod_C_Encrypt,
    mod_C_EncryptUpdate,
    mod_C_EncryptFinal,
    mod_C_DecryptInit,
    mod_C_Decrypt,
    mod_C_DecryptUpdate,
    mod_C_DecryptFinal,
    mod_C_DigestInit,
    mod_C_Digest,
    mod_C_DigestUpdate,
    mod_C_DigestKey,
    mod_C_DigestFinal,
    mod_C_SignInit,
    mod_C_Sign,
    mod_C_SignUpdate,
    mod_C_SignFinal,
    mod_C_SignRecoverInit,
    mod_C_SignRecover,
    mod_C_VerifyInit,
    mod_C_Verify,
    mod_C_VerifyUpdate,
    mod_C_VerifyFinal,
    mod_C_VerifyRecoverInit,
    mod_C_VerifyRecover,
    mod_C_DigestEncryptUpdate,
    mod_C_DecryptDigestUpdate,
    mod_C_SignEncryptUpdate,
    mod_C_DecryptVerifyUpdate,
    mod_C_GenerateKey,
    mod_C_GenerateKeyPair,
    mod_C_WrapKey,
    mod_C_UnwrapKey,
    mod_C_DeriveKey,
    mod_C_SeedRandom,
    mod_C_GenerateRandom,
    mod_C_GetFunctionStatus,
    mod_C_CancelFunction,
    mod_C_WaitForSlotEvent,
};

/* The one exported symbol (see module/local.mk: -export-symbols-regex). */
CK_RV NG_VISIBLE C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList);

CK_RV NG_VISIBLE
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR ppFunctionList)
{
    if (!ppFunctionList)
        return CKR_ARGUMENTS_BAD;
    *ppFunctionList = ng_trace_function_list(&function_list); /* itself unless NSSGUARD_DEBUG */
    return CKR_OK;
}
