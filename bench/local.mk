# `make bench`: the trust-lookup benchmark of issue 3 (bench/run.sh prints
# one table). The programs are check programs: built for `make check` and
# `make bench`, never installed. Generated data goes to bench/out/.
check_PROGRAMS += bench/nssguard-bench-gen bench/nssguard-bench bench/nssguard-bench-verify \
	bench/nssguard-bench-reload
dist_noinst_SCRIPTS += bench/run.sh

bench_nssguard_bench_gen_SOURCES = bench/gen.c
bench_nssguard_bench_gen_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS) $(NSPR_CFLAGS)
bench_nssguard_bench_gen_LDADD = $(NSS_LIBS) $(NSPR_LIBS)

# The driver links no NSS: it dlopens the module under test, like NSS does.
bench_nssguard_bench_SOURCES = bench/bench.c bench/clock.h
bench_nssguard_bench_CFLAGS = $(AM_CFLAGS) $(NSS_INCLUDES) $(NSPR_CFLAGS) -pthread
bench_nssguard_bench_LDADD = -ldl -lpthread

# Reload under load: queries timed while the overlay file is replaced.
bench_nssguard_bench_reload_SOURCES = bench/reload.c bench/clock.h
bench_nssguard_bench_reload_CFLAGS = $(AM_CFLAGS) $(NSS_INCLUDES) $(NSPR_CFLAGS) -pthread
bench_nssguard_bench_reload_LDADD = -ldl -lpthread

bench_nssguard_bench_verify_SOURCES = bench/verify.c bench/clock.h tests/der-file.h
bench_nssguard_bench_verify_CFLAGS = $(AM_CFLAGS) $(NSS_CFLAGS) $(NSPR_CFLAGS)
bench_nssguard_bench_verify_LDADD = $(NSS_LIBS) $(NSPR_LIBS)

bench_programs = bench/nssguard-bench-gen$(EXEEXT) bench/nssguard-bench$(EXEEXT) \
	bench/nssguard-bench-verify$(EXEEXT) bench/nssguard-bench-reload$(EXEEXT)

bench: $(bench_programs) libnssguard.la nssguard$(EXEEXT)
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	NSSGUARD_MODULE='$(abs_top_builddir)/.libs/libnssguard.so' \
	NSSGUARD_TOOL='$(abs_top_builddir)/nssguard' \
	NSSGUARD_CONFIG=/nonexistent/nssguard.conf \
	BENCH_OUT='$(abs_top_builddir)/bench/out' \
	$(SHELL) $(abs_top_srcdir)/bench/run.sh

clean-local: clean-bench-out
clean-bench-out:
	-rm -rf bench/out
.PHONY: bench clean-bench-out
