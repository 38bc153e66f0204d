# A compiled overlay changed under a running NSS process (issue 12):
# tests/image-faults.sh drives tests/nssguard-image-hold, which holds the
# module loaded through NSS's API while the files change.
check_PROGRAMS += tests/nssguard-image-hold
tests_nssguard_image_hold_SOURCES = tests/image-hold.c tests/der-file.h
tests_nssguard_image_hold_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS) $(NSPR_CFLAGS)
tests_nssguard_image_hold_LDADD = $(NSS_LIBS) $(NSPR_LIBS)

TESTS += tests/image-faults.sh
dist_noinst_SCRIPTS += tests/image-faults.sh
