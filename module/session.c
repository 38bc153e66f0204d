/*
 * session.c: the session table. A session pins the overlay generation it
 * was opened on, so a search in progress never sees objects change under it.
 * Lock order: table_lock, then a session's lock; a session's lock is never
 * held while taking table_lock.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static ng_session **table;
static size_t n_table;
static CK_SESSION_HANDLE next_handle = 1;

static void
destroy(ng_session *s)
{
    ng_find_clear(&s->find);
    ng_overlay_unref(s->overlay);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

void
ng_sessions_init(void)
{
    /* After fork() the child starts over: the parent's sessions are not its
     * own (PKCS#11 says a child must call C_Initialize), and their locks may
     * have been held by threads that do not exist here. */
    pthread_mutex_init(&table_lock, NULL);
    free(table);
    table = NULL;
    n_table = 0;
}

void
ng_sessions_close_all(void)
{
    ng_session **old;
    size_t n;

    pthread_mutex_lock(&table_lock);
    old = table;
    n = n_table;
    table = NULL;
    n_table = 0;
    pthread_mutex_unlock(&table_lock);
    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&old[i]->lock); /* wait for a call still using it */
        pthread_mutex_unlock(&old[i]->lock);
        destroy(old[i]);
    }
    free(old);
}

CK_RV
ng_session_open(CK_FLAGS flags, ng_overlay *ov, CK_SESSION_HANDLE *handle)
{
    ng_session *s = calloc(1, sizeof(*s)), **nt;

    if (!s)
        return CKR_HOST_MEMORY;
    pthread_mutex_init(&s->lock, NULL);
    s->flags = flags;
    s->overlay = ng_overlay_ref(ov);
    pthread_mutex_lock(&table_lock);
    nt = realloc(table, (n_table + 1) * sizeof(*nt));
    if (!nt) {
        pthread_mutex_unlock(&table_lock);
        destroy(s);
        return CKR_HOST_MEMORY;
    }
    table = nt;
    s->handle = next_handle++;
    table[n_table++] = s;
    *handle = s->handle;
    pthread_mutex_unlock(&table_lock);
    return CKR_OK;
}

CK_RV
ng_session_close(CK_SESSION_HANDLE handle)
{
    ng_session *s = NULL;

    pthread_mutex_lock(&table_lock);
    for (size_t i = 0; i < n_table; i++) {
        if (table[i]->handle == handle) {
            s = table[i];
            table[i] = table[--n_table];
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    if (!s)
        return CKR_SESSION_HANDLE_INVALID;
    pthread_mutex_lock(&s->lock);
    pthread_mutex_unlock(&s->lock);
    destroy(s);
    return CKR_OK;
}

CK_RV
ng_session_acquire(CK_SESSION_HANDLE handle, ng_session **sess)
{
    CK_RV rv = CKR_SESSION_HANDLE_INVALID;

    pthread_mutex_lock(&table_lock);
    for (size_t i = 0; i < n_table; i++) {
        if (table[i]->handle == handle) {
            *sess = table[i];
            pthread_mutex_lock(&table[i]->lock);
            rv = CKR_OK;
            break;
        }
    }
    pthread_mutex_unlock(&table_lock);
    return rv;
}

void
ng_session_release(ng_session *sess)
{
    pthread_mutex_unlock(&sess->lock);
}

unsigned long
ng_sessions_count(void)
{
    unsigned long n;

    pthread_mutex_lock(&table_lock);
    n = n_table;
    pthread_mutex_unlock(&table_lock);
    return n;
}
