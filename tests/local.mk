# Tests: automake's parallel harness with the TAP driver. Every test prints TAP.
# Shell tests skip (a "1..0 # SKIP" plan, exit 0) when a tool or ../shared is missing.
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' $(SHELL) $(top_srcdir)/build/aux/tap-driver.sh
TEST_LOG_DRIVER = $(LOG_DRIVER)
SH_LOG_DRIVER = $(LOG_DRIVER)
TEST_EXTENSIONS = .sh
AM_TESTS_ENVIRONMENT = \
	top_srcdir='$(abs_top_srcdir)'; export top_srcdir; \
	top_builddir='$(abs_top_builddir)'; export top_builddir; \
	NSSGUARD_MODULE='$(abs_top_builddir)/.libs/libnssguard.so'; export NSSGUARD_MODULE; \
	NSSGUARD_TOOL='$(abs_top_builddir)/nssguard'; export NSSGUARD_TOOL; \
	NSSGUARD_SHARED='$(abs_top_srcdir)/../shared/data'; export NSSGUARD_SHARED; \
	NSSGUARD_CONFIG=/nonexistent/nssguard.conf; export NSSGUARD_CONFIG;

dist_noinst_DATA += tests/lib.sh

include tests/unit.mk
include tests/e2e.mk
include tests/api.mk
include tests/tool.mk
include tests/hardening.mk
include tests/firefox.mk
include tests/p11kit.mk
include tests/faults.mk

clean-local: clean-test-out
clean-test-out:
	-rm -rf tests/out
