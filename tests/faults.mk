# Issue 12's faults that the module must survive, each reproduced for real
# through NSS's tools and API (each test fails on a8981c9).
#   faults-config.sh  a bad line in nssguard.conf, overlay paths that give nothing
#   faults-nss.sh     non-atomic redeploys under a verify loop, fork(), a huge text
check_PROGRAMS += tests/test-faults-nss
tests_test_faults_nss_SOURCES = tests/test-faults-nss.c tests/der-file.h
tests_test_faults_nss_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS) $(NSPR_CFLAGS)
tests_test_faults_nss_LDADD = $(NSS_LIBS) $(NSPR_LIBS)

TESTS += tests/faults-config.sh tests/faults-nss.sh
dist_noinst_SCRIPTS += tests/faults-config.sh tests/faults-nss.sh
