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
.PHONY: regen-certdata
