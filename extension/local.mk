# issue 15: a running Firefox learns a new distrust (doc/operate.md).
#
# The slot-less PKCS#11 module the extension adds and deletes so that
# Firefox drops the trust it cached: installed beside libnssguard.so, where
# the native manifest `nssguard enable --firefox-extension` writes points.
pkcs11_LTLIBRARIES += libnssguard-refresh.la
libnssguard_refresh_la_SOURCES = extension/refresh-module.c
libnssguard_refresh_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(NSS_INCLUDES)
libnssguard_refresh_la_LDFLAGS = -module -avoid-version -shared -no-undefined \
	-export-symbols-regex '^C_GetFunctionList$$'

# The WebExtension, packed as the XPI Firefox installs (ExtensionSettings
# force_installed): built by `make`, so `zip` is a build dependency
# (build/run.sh installs it), and installed in its own folder: $(datadir)/
# nssguard is the overlay directory, where the module would read it as an
# overlay. tests/e2e-firefox.sh deploys this very file.
ZIP = zip
firefoxextdir = $(datadir)/nssguard-firefox
firefoxext_DATA = extension/nssguard.xpi
dist_noinst_DATA += extension/manifest.json extension/background.js
CLEANFILES += extension/nssguard.xpi
extension/nssguard.xpi: $(srcdir)/extension/manifest.json $(srcdir)/extension/background.js
	@$(MKDIR_P) extension
	@rm -f $@ $@.tmp
	cd $(srcdir)/extension && $(ZIP) -q -X $(abs_builddir)/$@.tmp manifest.json background.js
	mv $@.tmp $@
