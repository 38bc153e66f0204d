# Installed configuration: the module's default config file and p11-kit's
# module file.

# $(sysconfdir)/nssguard/nssguard.conf: installed only when there is none,
# so `make install` never overwrites an administrator's settings; uninstalled
# only when it is still the shipped file.
EXTRA_DIST += etc/nssguard.conf etc/nssguard.module.in
nssguardconfdir = $(sysconfdir)/nssguard
install-data-local:
	$(MKDIR_P) '$(DESTDIR)$(nssguardconfdir)'
	@if test -f '$(DESTDIR)$(nssguardconfdir)/nssguard.conf'; then \
	  echo "keeping the existing $(DESTDIR)$(nssguardconfdir)/nssguard.conf"; \
	else \
	  echo " $(INSTALL_DATA) etc/nssguard.conf '$(DESTDIR)$(nssguardconfdir)'"; \
	  $(INSTALL_DATA) $(srcdir)/etc/nssguard.conf '$(DESTDIR)$(nssguardconfdir)/nssguard.conf'; \
	fi
uninstall-local:
	-cmp -s $(srcdir)/etc/nssguard.conf '$(DESTDIR)$(nssguardconfdir)/nssguard.conf' && \
	  rm -f '$(DESTDIR)$(nssguardconfdir)/nssguard.conf'
	-rmdir '$(DESTDIR)$(nssguardconfdir)' 2>/dev/null

# p11-kit's module file, with the installed paths.
p11kitmoduledir = $(datadir)/p11-kit/modules
p11kitmodule_DATA = etc/nssguard.module
CLEANFILES += etc/nssguard.module
etc/nssguard.module: $(srcdir)/etc/nssguard.module.in Makefile
	$(AM_V_GEN)$(MKDIR_P) etc && \
	sed -e 's|@pkcs11dir[@]|$(pkcs11dir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	  $(srcdir)/etc/nssguard.module.in >$@.tmp && mv $@.tmp $@
