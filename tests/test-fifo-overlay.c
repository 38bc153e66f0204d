/*
 * test-fifo-overlay: regression test for a module bug found in issue 6
 * (fixed: the module opens overlay and config files with O_NONBLOCK).
 *
 * A FIFO (named pipe) named *.txt in an overlay folder, or given as an
 * overlay path, hangs C_Initialize for ever: ng_parse_file() (parser.c)
 * calls open(path, O_RDONLY) before it checks S_ISREG, and opening a FIFO
 * for reading blocks until a writer appears. NSS calls C_Initialize while
 * the host process starts, so any user who can write into an overlay
 * folder, or swap a path for a FIFO, freezes every NSS program that loads
 * the module. Fix: open with O_NONBLOCK (then fstat and refuse what is not
 * a regular file; clear O_NONBLOCK before reading), or lstat/stat first.
 *
 * The child calls C_Initialize; the parent gives it 5 seconds. When the fix
 * lands this test passes: move it out of XFAIL_TESTS.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "tap.h"

int
main(void)
{
    char dir[] = "/tmp/nssguard-test-fifo-XXXXXX", fifo[600], params[1400];
    CK_FUNCTION_LIST_PTR p11;
    CK_C_INITIALIZE_ARGS args;
    int status = 0, waited = 0;
    pid_t pid;

    if (!mkdtemp(dir))
        return 99;
    snprintf(fifo, sizeof(fifo), "%s/pipe.txt", dir);
    if (mkfifo(fifo, 0644) != 0) {
        printf("1..0 # SKIP cannot make a FIFO\n");
        rmdir(dir);
        return 77;
    }
    snprintf(params, sizeof(params), "overlay=%s log=none", dir);
    C_GetFunctionList(&p11);
    pid = fork();
    if (pid == 0) {
        memset(&args, 0, sizeof(args));
        args.flags = CKF_OS_LOCKING_OK;
        args.LibraryParameters = (CK_CHAR_PTR *)params;
        _exit(p11->C_Initialize(&args) == CKR_OK ? 0 : 1);
    }
    while (waited < 50 && waitpid(pid, &status, WNOHANG) == 0) {
        usleep(100000);
        waited++;
    }
    if (waited == 50) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        tap_ok(0, "C_Initialize with a FIFO in the overlay folder returns (it hung for 5 s)");
    } else {
        tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0,
               "C_Initialize with a FIFO in the overlay folder returns and refuses the FIFO");
    }
    unlink(fifo);
    rmdir(dir);
    tap_done();
    return 0; /* the verdict is the TAP line (XFAIL/XPASS), not the exit status */
}
