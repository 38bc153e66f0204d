# In-process tests of the module's stages, linked with the convenience library.
unit_cflags = $(AM_CFLAGS) $(NSS_INCLUDES) $(NSPR_CFLAGS)
unit_ldadd = libnssguard-testable.la

check_PROGRAMS += tests/test-parser tests/test-module tests/test-reload
TESTS += tests/test-parser tests/test-module tests/test-reload
dist_noinst_DATA += tests/tap.h

tests_test_parser_SOURCES = tests/test-parser.c
tests_test_parser_CFLAGS = $(unit_cflags)
tests_test_parser_LDADD = $(unit_ldadd)

tests_test_module_SOURCES = tests/test-module.c
tests_test_module_CFLAGS = $(unit_cflags)
tests_test_module_LDADD = $(unit_ldadd)

tests_test_reload_SOURCES = tests/test-reload.c
tests_test_reload_CFLAGS = $(unit_cflags)
tests_test_reload_LDADD = $(unit_ldadd) -lpthread

# mode=builtins against Debian's libnssckbi.so (tests/builtins.sh runs it).
check_PROGRAMS += tests/test-builtins
TESTS += tests/builtins.sh
dist_noinst_SCRIPTS += tests/builtins.sh
tests_test_builtins_SOURCES = tests/test-builtins.c
tests_test_builtins_CFLAGS = $(unit_cflags)
tests_test_builtins_LDADD = $(unit_ldadd) -ldl -lpthread
