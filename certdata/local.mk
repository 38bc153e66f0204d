# The shipped default overlay, installed where the module looks by default.
overlaydir = $(datadir)/nssguard
dist_overlay_DATA = certdata/nssguard-default.txt
EXTRA_DIST += certdata/mozilla-facts.conf certdata/nssguard-default.head \
	certdata/mozilla-removed.certdata

# `make regen-certdata`: rebuild the shipped overlay from Mozilla's own
# records with the tool. Needs ../shared/data beside the checkout; the result
# is committed, since users do not have that data.
MOZILLA_CERTDATA = $(abs_top_srcdir)/../shared/data/mozilla/certdata-nss-3.28.txt
MOZILLA_CERTDATA_URL = https://hg.mozilla.org/projects/nss/file/NSS_3_28_RTM/lib/ckfw/builtins/certdata.txt
regen-certdata: nssguard$(EXEEXT)
	./nssguard$(EXEEXT) import-mozilla \
		--facts $(srcdir)/certdata/mozilla-facts.conf \
		--header $(srcdir)/certdata/nssguard-default.head \
		--source $(MOZILLA_CERTDATA_URL) \
		-o $(srcdir)/certdata/nssguard-default.txt.tmp $(MOZILLA_CERTDATA) \
		$(srcdir)/certdata/mozilla-removed.certdata
	./nssguard$(EXEEXT) check $(srcdir)/certdata/nssguard-default.txt.tmp
	mv $(srcdir)/certdata/nssguard-default.txt.tmp $(srcdir)/certdata/nssguard-default.txt
	$(MAKE) $(AM_MAKEFLAGS) regen-certdata-keys
.PHONY: regen-certdata

# Distrust by key (issue 13): the key entries of certdata/nssguard-keys.txt
# expanded against the CCADB snapshot and the certificates of Chromium's
# blocklist (certdata/chromium-blocklist.pem) into issuer+serial entries, the
# ones certdata/nssguard-default.txt does not already have. Skipped, with a
# message, without ../shared beside the checkout.
dist_overlay_DATA += certdata/nssguard-keys.txt certdata/nssguard-keys-expanded.txt
EXTRA_DIST += certdata/chromium-blocklist.pem
CCADB_CSV_XZ = $(abs_top_srcdir)/../shared/data/ccadb/ccadb-certificates-2026-08.csv.xz
regen-certdata-keys: nssguard$(EXEEXT)
	@if [ ! -f $(CCADB_CSV_XZ) ]; then \
		echo "regen-certdata-keys: skipped: $(CCADB_CSV_XZ) not found (../shared beside the checkout)"; \
		exit 0; \
	fi; \
	set -e; \
	ln -sf $(CCADB_CSV_XZ) ccadb-certificates-2026-08.csv.xz; \
	./nssguard$(EXEEXT) expand --certs ccadb-certificates-2026-08.csv.xz \
		--certs $(srcdir)/certdata/chromium-blocklist.pem \
		--covered $(srcdir)/certdata/nssguard-default.txt \
		-o $(srcdir)/certdata/nssguard-keys-expanded.txt.tmp $(srcdir)/certdata/nssguard-keys.txt; \
	rm -f ccadb-certificates-2026-08.csv.xz; \
	./nssguard$(EXEEXT) check $(srcdir)/certdata/nssguard-default.txt \
		$(srcdir)/certdata/nssguard-keys.txt $(srcdir)/certdata/nssguard-keys-expanded.txt.tmp; \
	mv $(srcdir)/certdata/nssguard-keys-expanded.txt.tmp $(srcdir)/certdata/nssguard-keys-expanded.txt
.PHONY: regen-certdata-keys
