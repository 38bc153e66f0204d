# p11-kit and GnuTLS: p11-kit's tools load libnssguard.so from a module file
# in a test user configuration (tests/p11kit-tools.sh); GnuTLS verifies the
# test PKI against a "pkcs11:" trust list (tests/p11kit-gnutls.sh runs
# tests/test-gnutls, built when GnuTLS's headers are installed).
P11KIT_TESTS = tests/p11kit-tools.sh tests/p11kit-gnutls.sh
TESTS += $(P11KIT_TESTS)
dist_noinst_SCRIPTS += $(P11KIT_TESTS)
EXTRA_DIST += tests/test-gnutls.c tests/gnutls-verify.h
AM_TESTS_ENVIRONMENT += \
	P11_KIT_MODULE_PATH='$(P11_KIT_MODULE_PATH)'; export P11_KIT_MODULE_PATH;

if HAVE_GNUTLS
check_PROGRAMS += tests/test-gnutls
tests_test_gnutls_SOURCES = tests/test-gnutls.c tests/gnutls-verify.h
tests_test_gnutls_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
tests_test_gnutls_LDADD = $(GNUTLS_LIBS)
endif

# Issue 16: GnuTLS's system trust on Debian 12 with the module configured
# for p11-kit (tests/p11kit-gnutls-system.sh runs tests/test-gnutls-system).
TESTS += tests/p11kit-gnutls-system.sh
dist_noinst_SCRIPTS += tests/p11kit-gnutls-system.sh
EXTRA_DIST += tests/test-gnutls-system.c
if HAVE_GNUTLS
check_PROGRAMS += tests/test-gnutls-system
tests_test_gnutls_system_SOURCES = tests/test-gnutls-system.c tests/gnutls-verify.h
tests_test_gnutls_system_CFLAGS = $(AM_CFLAGS) $(GNUTLS_CFLAGS)
tests_test_gnutls_system_LDADD = $(GNUTLS_LIBS)
endif
