# The NSS API test: a C program that loads libnssguard.so with
# SECMOD_LoadUserModule and checks what CERT_VerifyCertificate,
# CERT_PKIXVerifyCert and CERT_GetCertTrust make of the overlay.
# tests/nss-api.sh makes the test PKI, then runs it (it prints the TAP).
check_PROGRAMS += tests/test-nss-api
tests_test_nss_api_SOURCES = tests/test-nss-api.c
tests_test_nss_api_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS) $(NSPR_CFLAGS)
tests_test_nss_api_LDADD = $(NSS_LIBS) $(NSPR_LIBS)

TESTS += tests/nss-api.sh tests/nss-api-modes.sh
dist_noinst_SCRIPTS += tests/nss-api.sh tests/nss-api-modes.sh

# The MITM operator's re-encoding of a certificate it holds (no key needed):
# tests/e2e-reencode.sh and the client tests feed its copies to NSS.
check_PROGRAMS += tests/nssguard-reencode
tests_nssguard_reencode_SOURCES = tests/reencode.c
