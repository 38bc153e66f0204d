/*
 * session.c: the session table, with no lock shared by all sessions.
 *
 * Sessions live in slots, 256 to a chunk, chunks allocated as needed and
 * kept until the module is finalised. A handle names its slot in the low 16
 * bits and a per-open sequence number above, so a stale handle never finds
 * a newer session. Each slot has its own mutex: a call locks only the slot
 * of the session it uses. Opening takes ng.sessions.open_lock to claim a
 * free slot.
 *
 * Each slot also publishes which generations its session reads (their ids)
 * and, while it is switching to the current one, the epoch it started at
 * (ng_session_pin, inline in internal.h with ng_session_acquire and
 * ng_session_release: they run on every call).
 * The reload thread frees a replaced generation only when no slot reads it
 * and no slot started switching before it was replaced (see overlay.c).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The table is ng.sessions (internal.h), its slots ng_session_slot: the
 * fork handler (module.c) remakes their locks in a child. */
#define CHUNK_SLOTS NG_SESSION_CHUNK
#define MAX_CHUNKS NG_SESSION_CHUNKS

typedef ng_session_slot slot;

static void destroy(ng_session *s);

void
ng_sessions_forget(void)
{
    /* In a fork()ed child (one thread): the parent's sessions are not the
     * child's. Free this process's copies of them without their locks,
     * which threads that do not exist here may have held (the fork handler
     * made the locks anew). */
    for (size_t c = 0; c < MAX_CHUNKS; c++) {
        for (size_t i = 0; ng.sessions.chunks[c] && i < CHUNK_SLOTS; i++) {
            if (ng.sessions.chunks[c][i].session)
                destroy(ng.sessions.chunks[c][i].session);
        }
        free(ng.sessions.chunks[c]);
        ng.sessions.chunks[c] = NULL;
    }
    ng.sessions.n_open = 0;
}

static void
unpublish(slot *sl)
{
    __atomic_store_n(&sl->held[0], 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sl->held[1], 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&sl->pinning, 0, __ATOMIC_SEQ_CST);
}

static void
destroy(ng_session *s)
{
    ng_find_clear(&s->find);
    free(s);
}

void
ng_sessions_close_all(void)
{
    for (size_t c = 0; c < MAX_CHUNKS; c++) {
        slot *chunk = __atomic_load_n(&ng.sessions.chunks[c], __ATOMIC_ACQUIRE);
        for (size_t i = 0; chunk && i < CHUNK_SLOTS; i++) {
            pthread_mutex_lock(&chunk[i].lock);
            if (chunk[i].session) {
                destroy(chunk[i].session);
                chunk[i].session = NULL;
                unpublish(&chunk[i]);
                __atomic_sub_fetch(&ng.sessions.n_open, 1, __ATOMIC_RELAXED);
            }
            pthread_mutex_unlock(&chunk[i].lock);
        }
    }
}

void
ng_sessions_free(void)
{
    ng_sessions_close_all();
    for (size_t c = 0; c < MAX_CHUNKS; c++) {
        slot *chunk = ng.sessions.chunks[c];
        for (size_t i = 0; chunk && i < CHUNK_SLOTS; i++)
            pthread_mutex_destroy(&chunk[i].lock);
        free(chunk);
        ng.sessions.chunks[c] = NULL;
    }
}

/* A free slot, locked; NULL when the table is full. Under ng.sessions.open_lock. */
static slot *
claim_locked(size_t *index)
{
    for (size_t c = 0; c < MAX_CHUNKS; c++) {
        if (!ng.sessions.chunks[c]) {
            slot *chunk = aligned_alloc(64, CHUNK_SLOTS * sizeof(*chunk));
            if (!chunk)
                return NULL;
            memset(chunk, 0, CHUNK_SLOTS * sizeof(*chunk));
            for (size_t i = 0; i < CHUNK_SLOTS; i++)
                pthread_mutex_init(&chunk[i].lock, NULL);
            __atomic_store_n(&ng.sessions.chunks[c], chunk, __ATOMIC_RELEASE);
        }
        for (size_t i = 0; i < CHUNK_SLOTS; i++) {
            slot *sl = &ng.sessions.chunks[c][i];
            pthread_mutex_lock(&sl->lock);
            if (!sl->session) {
                *index = c * CHUNK_SLOTS + i;
                return sl;
            }
            pthread_mutex_unlock(&sl->lock);
        }
    }
    return NULL;
}

/* Sessions are written on every call: each gets cache lines of its own.
 * Two calloc'd sessions could share one, and then two threads each using
 * its own session ran at half the speed of one (measured: 2 threads 0.8x
 * or 2.0x of one thread, depending on where the heap happened to put them). */
static ng_session *
session_alloc(void)
{
    size_t size = (sizeof(ng_session) + 63) & ~(size_t)63;
    ng_session *s = aligned_alloc(64, size);

    if (s)
        memset(s, 0, size);
    return s;
}

CK_RV
ng_session_open(CK_FLAGS flags, CK_SESSION_HANDLE *handle)
{
    ng_session *s = session_alloc();
    slot *sl;
    size_t index;

    if (!s)
        return CKR_HOST_MEMORY;
    pthread_mutex_lock(&ng.sessions.open_lock);
    sl = claim_locked(&index);
    if (!sl) {
        pthread_mutex_unlock(&ng.sessions.open_lock);
        free(s);
        return CKR_SESSION_COUNT;
    }
    s->flags = flags;
    s->handle = (CK_SESSION_HANDLE)((ng.sessions.sequence++ << 16) | index);
    sl->session = s;
    *handle = s->handle;
    __atomic_add_fetch(&ng.sessions.n_open, 1, __ATOMIC_RELAXED);
    pthread_mutex_unlock(&sl->lock);
    pthread_mutex_unlock(&ng.sessions.open_lock);
    return CKR_OK;
}

CK_RV
ng_session_close(CK_SESSION_HANDLE handle)
{
    slot *sl = ng_session_slot_of(handle);
    ng_session *s = NULL;

    if (!sl)
        return CKR_SESSION_HANDLE_INVALID;
    pthread_mutex_lock(&sl->lock);
    if (sl->session && sl->session->handle == handle) {
        s = sl->session;
        sl->session = NULL;
        unpublish(sl);
        __atomic_sub_fetch(&ng.sessions.n_open, 1, __ATOMIC_RELAXED);
    }
    pthread_mutex_unlock(&sl->lock);
    if (!s)
        return CKR_SESSION_HANDLE_INVALID;
    destroy(s);
    ng_overlays_reclaim(); /* its generations may be the last readers' */
    return CKR_OK;
}

static ng_overlay *
held(const ng_session *s, uint64_t id)
{
    if (s->cur && s->cur->id == id)
        return s->cur;
    if (s->prev && s->prev->id == id)
        return s->prev;
    return NULL;
}

ng_overlay *
ng_session_overlay_of(ng_session *s, CK_OBJECT_HANDLE handle)
{
    uint64_t id = ng_objects_handle_id(handle);
    ng_overlay *ov = held(s, id);

    /* A handle another session found: PKCS#11 makes it valid here too while
     * its object exists, that is while its generation is the current one.
     * Id 0 is mode=builtins' roots, in no generation. */
    if (!ov && id != 0 && !s->finding) {
        ng_session_pin(s);
        ov = held(s, id);
    }
    return ov;
}

unsigned long
ng_sessions_count(void)
{
    return __atomic_load_n(&ng.sessions.n_open, __ATOMIC_RELAXED);
}

bool
ng_sessions_may_read(const ng_overlay *ov)
{
    for (size_t c = 0; c < MAX_CHUNKS; c++) {
        slot *chunk = __atomic_load_n(&ng.sessions.chunks[c], __ATOMIC_ACQUIRE);
        for (size_t i = 0; chunk && i < CHUNK_SLOTS; i++) {
            uint64_t pinning = __atomic_load_n(&chunk[i].pinning, __ATOMIC_SEQ_CST);
            if ((pinning && pinning < ov->retired_at) ||
                __atomic_load_n(&chunk[i].held[0], __ATOMIC_SEQ_CST) == ov->id ||
                __atomic_load_n(&chunk[i].held[1], __ATOMIC_SEQ_CST) == ov->id)
                return true;
        }
    }
    return false;
}
