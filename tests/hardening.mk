# Hardening tests (issue 6): bad input, PKCS#11 conformance, concurrency,
# sanitizer and valgrind runs. Fuzzing lives in fuzz/local.mk.
#
#   ./configure --enable-sanitizers && make check   ASan+UBSan, whole suite
#   ./configure --enable-tsan && make check          ThreadSanitizer, whole suite
#   make check-valgrind                              memcheck, see below
#   helgrind (by hand; it does not model the C11 atomics that publish an
#   overlay generation, so expect "possible data race" reports on reads of
#   a published generation; ThreadSanitizer does model them):
#     NSSGUARD_STRESS_SCALE=valgrind valgrind --tool=helgrind tests/test-stress

# ASan+UBSan (--enable-sanitizers) or TSan (--enable-tsan): every object and
# program of the tree gets the flags (configure.ac sets them).
AM_CFLAGS += $(HARDEN_CFLAGS)
AM_LDFLAGS = $(HARDEN_LDFLAGS)

hardening_cflags = $(AM_CFLAGS) $(NSS_INCLUDES) $(NSPR_CFLAGS)

check_PROGRAMS += tests/test-bad-overlays tests/test-conformance tests/test-stress
TESTS += tests/test-bad-overlays tests/test-conformance tests/test-stress \
	tests/conformance-tools.sh
dist_noinst_SCRIPTS += tests/conformance-tools.sh tests/valgrind-vfychain.sh
dist_noinst_DATA += tests/bad-overlays.txt tests/valgrind.supp
EXTRA_DIST += tests/bad-overlays

tests_test_bad_overlays_SOURCES = tests/test-bad-overlays.c
tests_test_bad_overlays_CFLAGS = $(hardening_cflags)
tests_test_bad_overlays_LDADD = libnssguard-testable.la

tests_test_conformance_SOURCES = tests/test-conformance.c
tests_test_conformance_CFLAGS = $(hardening_cflags)
tests_test_conformance_LDADD = libnssguard-testable.la

tests_test_stress_SOURCES = tests/test-stress.c
tests_test_stress_CFLAGS = $(hardening_cflags) -pthread
tests_test_stress_LDADD = libnssguard-testable.la -lpthread

# Regression tests for module bugs found in issue 6 (see each header).
check_PROGRAMS += tests/test-fifo-overlay tests/test-handle-any-session
TESTS += tests/test-fifo-overlay tests/test-handle-any-session
tests_test_fifo_overlay_SOURCES = tests/test-fifo-overlay.c
tests_test_fifo_overlay_CFLAGS = $(hardening_cflags)
tests_test_fifo_overlay_LDADD = libnssguard-testable.la
tests_test_handle_any_session_SOURCES = tests/test-handle-any-session.c
tests_test_handle_any_session_CFLAGS = $(hardening_cflags)
tests_test_handle_any_session_LDADD = libnssguard-testable.la

# Regression test for the image's string area that could end without a NUL.
check_PROGRAMS += tests/test-blob-terminator
TESTS += tests/test-blob-terminator
tests_test_blob_terminator_SOURCES = tests/test-blob-terminator.c
tests_test_blob_terminator_CFLAGS = $(hardening_cflags)
tests_test_blob_terminator_LDADD = libnssguard-testable.la

if ENABLE_SANITIZERS
# NSS's tools are not ASan (or TSan) programs, but libnssguard.so is: the
# shell tests find NSS's tools (and pkcs11-tool, p11tool) through wrappers
# that preload the sanitizer runtime into them alone (preloading it into the
# shell too would run awk & co. under ASan, and mawk has a heap over-read of
# its own). Leak
# checking is off in those tools (certutil's own allocations are not
# nssguard's); the in-process C tests keep it on, and `make check-valgrind`
# covers the module inside vfychain.
#
# Not wrapped: p11-kit and trust (p11-kit's destructor deadlocks in
# freelocale() at exit when the ASan runtime is preloaded, in p11-kit and
# glibc, before any nssguard code runs), Chromium and Firefox (not tried).
# Tests that drive them cannot load an ASan libnssguard.so; they see
# NSSGUARD_SANITIZER set and may skip.
asan_wrapped_tools = certutil modutil vfychain tstclnt selfserv pk12util pkcs11-tool p11tool \
	gnutls-cli certtool
check_DATA = tests/asan-bin/.stamp
tests/asan-bin/.stamp: Makefile
	$(AM_V_GEN)rm -rf tests/asan-bin && mkdir -p tests/asan-bin && \
	for t in $(asan_wrapped_tools); do \
	  p=`command -v $$t` || continue; \
	  { echo '#!/bin/sh'; \
	    echo "LD_PRELOAD='$(ASAN_RUNTIME)' ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 TSAN_OPTIONS=halt_on_error=1 exec $$p \"\$$@\""; \
	  } > tests/asan-bin/$$t && chmod +x tests/asan-bin/$$t || exit 1; \
	done && touch $@
asan_path = PATH='$(abs_top_builddir)/tests/asan-bin':$$PATH; export PATH; \
	NSSGUARD_SANITIZER=yes; export NSSGUARD_SANITIZER;
endif
clean-local: clean-asan-bin
clean-asan-bin:
	-rm -rf tests/asan-bin
AM_TESTS_ENVIRONMENT += $(asan_path) \
	ASAN_OPTIONS=$${ASAN_OPTIONS-detect_leaks=1:abort_on_error=1}; export ASAN_OPTIONS; \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1; export UBSAN_OPTIONS; \
	TSAN_OPTIONS=$${TSAN_OPTIONS-halt_on_error=1:second_deadlock_stack=1}; export TSAN_OPTIONS;

# `make check-valgrind`: the in-process tests and one vfychain run through
# the module under memcheck. Errors or leaks fail it; tests/valgrind.supp
# holds NSS's own leaks only, each one explained.
VALGRIND_FLAGS = --error-exitcode=97 --leak-check=full --show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --track-origins=yes --num-callers=30 \
	--suppressions=$(abs_top_srcdir)/tests/valgrind.supp
VALGRIND_TESTS = tests/test-parser tests/test-module tests/test-bad-overlays \
	tests/test-conformance tests/test-stress fuzz/run-overlay fuzz/run-pkcs11
check-valgrind: $(check_PROGRAMS) all
	@test -n "$(VALGRIND)" || { echo "check-valgrind: valgrind not installed" >&2; exit 1; }
	@mkdir -p tests/out/valgrind; failed=0; \
	for t in $(VALGRIND_TESTS); do \
	  log=tests/out/valgrind/`basename $$t`.log; \
	  if top_srcdir='$(abs_top_srcdir)' NSSGUARD_CONFIG=/nonexistent/nssguard.conf \
	     NSSGUARD_STRESS_SCALE=valgrind \
	     $(VALGRIND) $(VALGRIND_FLAGS) --log-file=$$log.vg ./$$t > $$log 2>&1; then \
	    echo "PASS: valgrind $$t"; \
	  else echo "FAIL: valgrind $$t (see $$log.vg)"; failed=1; fi; \
	done; \
	if top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	   NSSGUARD_MODULE='$(abs_top_builddir)/.libs/libnssguard.so' \
	   NSSGUARD_TOOL='$(abs_top_builddir)/nssguard' \
	   VALGRIND='$(VALGRIND) $(VALGRIND_FLAGS)' \
	   $(SHELL) $(srcdir)/tests/valgrind-vfychain.sh > tests/out/valgrind/vfychain.log 2>&1; then \
	  echo "PASS: valgrind vfychain"; \
	else echo "FAIL: valgrind vfychain (see tests/out/valgrind/)"; failed=1; fi; \
	exit $$failed
.PHONY: check-valgrind
