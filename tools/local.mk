# The command-line tool: a table of subcommands (tools/nssguard.c), one file
# per subcommand, shared helpers in tools/util.c. It reads overlays with the
# module's own parser and builder (libnssguard-testable.la) and does the
# certificate work with NSS.
bin_PROGRAMS += nssguard
nssguard_SOURCES = \
	tools/tool.h \
	tools/util.c \
	tools/corpus.c \
	tools/corpus.h \
	tools/cli.c \
	tools/names.c \
	tools/nssguard.c \
	tools/cmd-add.c \
	tools/json.c \
	tools/cmd-import.c \
	tools/cmd-check.c \
	tools/cmd-list.c \
	tools/cmd-explain.c \
	tools/cmd-verify.c \
	tools/cmd-audit.c \
	tools/cmd-compile.c
# issue 13: key entries -> issuer+serial entries
nssguard_SOURCES += tools/cmd-expand.c
# issue 13 item 4: a root's CRL -> issuer+serial entries
nssguard_SOURCES += tools/cmd-import-crl.c
# issue 15: putting the module in place, and whether it enforces there
nssguard_SOURCES += \
	tools/cmd-enable.c \
	tools/cmd-status.c \
	tools/cmd-watch.c \
	tools/operate.c \
	tools/operate.h
nssguard_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS) $(NSPR_CFLAGS) $(JSON_C_CFLAGS)
nssguard_CPPFLAGS = $(AM_CPPFLAGS) -DNSSGUARD_PKCS11DIR=\"$(pkcs11dir)\"
nssguard_LDADD = libnssguard-testable.la $(NSS_LIBS) $(NSPR_LIBS) $(JSON_C_LIBS) -lpthread

# Manual pages, installed by `make install`.
dist_man_MANS = doc/nssguard.1 doc/nssguard-overlay.5 doc/nssguard.conf.5
