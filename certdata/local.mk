# The shipped default overlay, installed where the module looks by default.
overlaydir = $(datadir)/nssguard
dist_overlay_DATA = certdata/nssguard-default.txt
