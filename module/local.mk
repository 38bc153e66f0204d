# The module: libnssguard.so, a libtool module installed in $(libdir)/pkcs11.
# Its stages are also built as a convenience library so unit tests can call
# them in-process; the end-to-end tests load the real .so through NSS.
module_sources = \
	module/internal.h \
	module/der.c \
	module/sha1.c \
	module/parser.c \
	module/builder.c \
	module/index.c \
	module/config.c \
	module/log.c \
	module/trace.c \
	module/image.c \
	module/builtins.c \
	module/overlay.c \
	module/objects.c \
	module/session.c

module_cflags = $(AM_CFLAGS) -fvisibility=hidden $(NSS_INCLUDES) $(NSPR_CFLAGS)

noinst_LTLIBRARIES += libnssguard-testable.la
libnssguard_testable_la_SOURCES = $(module_sources) module/module.c
libnssguard_testable_la_CFLAGS = $(module_cflags)
libnssguard_testable_la_LIBADD = -lpthread

pkcs11_LTLIBRARIES += libnssguard.la
libnssguard_la_SOURCES =
libnssguard_la_LIBADD = libnssguard-testable.la -lpthread
libnssguard_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-export-symbols-regex '^C_GetFunctionList$$'

include_HEADERS = include/nssguard.h
