# Fuzzing (issue 6). Each target is one LLVMFuzzerTestOneInput in fuzz/:
#   overlay   the overlay text reader + builder + index (fuzz-overlay.c)
#   pkcs11    call sequences into the PKCS#11 entry points (fuzz-pkcs11.c)
#   compiled  the compiled-overlay loader (fuzz-compiled.c)
#
# Always built: fuzz/run-TARGET, the target with a plain main() (driver.c)
# that feeds it every file of fuzz/corpus/TARGET once; `make check` runs
# them, so the corpora and every kept crasher are exercised with any
# compiler. With CC=clang and --enable-fuzzing, `make fuzz` builds the
# libFuzzer binaries fuzz/fuzz-TARGET; run them as fuzz/README.md says.
fuzz_module_sources = $(module_sources) module/module.c
fuzz_cflags = $(module_cflags)

check_PROGRAMS += fuzz/run-overlay fuzz/run-pkcs11 fuzz/run-compiled
TESTS += fuzz/run-overlay fuzz/run-pkcs11 fuzz/run-compiled
fuzz_run_overlay_SOURCES = fuzz/driver.c fuzz/fuzz-overlay.c
fuzz_run_overlay_CFLAGS = $(fuzz_cflags) -DFUZZ_TARGET_NAME=\"overlay\"
fuzz_run_overlay_LDADD = libnssguard-testable.la
fuzz_run_pkcs11_SOURCES = fuzz/driver.c fuzz/fuzz-pkcs11.c
fuzz_run_pkcs11_CFLAGS = $(fuzz_cflags) -DFUZZ_TARGET_NAME=\"pkcs11\"
fuzz_run_pkcs11_LDADD = libnssguard-testable.la
fuzz_run_compiled_SOURCES = fuzz/driver.c fuzz/fuzz-compiled.c
fuzz_run_compiled_CFLAGS = $(fuzz_cflags) -DFUZZ_TARGET_NAME=\"compiled\"
fuzz_run_compiled_LDADD = libnssguard-testable.la

# The compiled-overlay loader's seeds in fuzz/corpus/compiled/ are images
# `nssguard compile` wrote: the default overlay, the test PKI's overlay (with
# certificates), and a constraint entry.

EXTRA_DIST += fuzz/README.md fuzz/overlay.dict fuzz/corpus

libfuzzer_targets = fuzz/fuzz-overlay fuzz/fuzz-pkcs11 fuzz/fuzz-compiled
EXTRA_PROGRAMS = $(libfuzzer_targets)
CLEANFILES += $(libfuzzer_targets)
# libFuzzer needs the module itself built with coverage instrumentation, so
# each target compiles the module's sources again with its own flags.
libfuzzer_cflags = $(fuzz_cflags) -g -O1 -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
libfuzzer_ldflags = -fsanitize=fuzzer,address,undefined
fuzz_fuzz_overlay_SOURCES = fuzz/fuzz-overlay.c $(fuzz_module_sources)
fuzz_fuzz_overlay_CFLAGS = $(libfuzzer_cflags)
fuzz_fuzz_overlay_LDFLAGS = $(libfuzzer_ldflags)
fuzz_fuzz_overlay_LDADD = -lpthread
fuzz_fuzz_pkcs11_SOURCES = fuzz/fuzz-pkcs11.c $(fuzz_module_sources)
fuzz_fuzz_pkcs11_CFLAGS = $(libfuzzer_cflags)
fuzz_fuzz_pkcs11_LDFLAGS = $(libfuzzer_ldflags)
fuzz_fuzz_pkcs11_LDADD = -lpthread
fuzz_fuzz_compiled_SOURCES = fuzz/fuzz-compiled.c $(fuzz_module_sources)
fuzz_fuzz_compiled_CFLAGS = $(libfuzzer_cflags)
fuzz_fuzz_compiled_LDFLAGS = $(libfuzzer_ldflags)
fuzz_fuzz_compiled_LDADD = -lpthread

if ENABLE_FUZZING
fuzz: $(libfuzzer_targets)
else
fuzz:
	@echo "make fuzz: configure with CC=clang --enable-fuzzing first" >&2; exit 1
endif
.PHONY: fuzz
