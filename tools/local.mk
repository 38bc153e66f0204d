# The command-line tool: writes overlay records for certificates.
bin_PROGRAMS += nssguard
nssguard_SOURCES = tools/nssguard.c
nssguard_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS) $(NSPR_CFLAGS)
nssguard_LDADD = $(NSS_LIBS) $(NSPR_LIBS)
