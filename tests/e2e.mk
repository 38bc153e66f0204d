# End-to-end tests: NSS's own tools (certutil, vfychain, selfserv, tstclnt)
# load the built libnssguard.so against a PKI made by tests/pki.sh.
E2E_TESTS = \
	tests/e2e-vfychain.sh \
	tests/e2e-tls.sh \
	tests/e2e-hazards.sh \
	tests/e2e-chromium.sh \
	tests/e2e-reencode.sh \
	tests/log-sinks.sh \
	tests/e2e-trace.sh

TESTS += $(E2E_TESTS)
dist_noinst_SCRIPTS += $(E2E_TESTS) tools/demo.sh
dist_noinst_DATA += tests/pki.sh tests/e2e-lib.sh

# `make demo`: the README's walk-through, in a throwaway folder.
demo: all
	top_srcdir='$(abs_top_srcdir)' \
	NSSGUARD_MODULE='$(abs_top_builddir)/.libs/libnssguard.so' \
	NSSGUARD_TOOL='$(abs_top_builddir)/nssguard' \
	$(SHELL) $(top_srcdir)/tools/demo.sh
.PHONY: demo

# Issue 16: which NSS database Chromium reads (~/.pki/nssdb or the XDG one).
TESTS += tests/e2e-chromium-nssdb.sh
dist_noinst_SCRIPTS += tests/e2e-chromium-nssdb.sh
