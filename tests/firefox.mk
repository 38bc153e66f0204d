# Firefox ESR end-to-end test: headless Firefox (its own bundled NSS) driven
# over WebDriver BiDi by tests/firefox/drive.mjs, which needs the npm
# package ws: `npm ci --prefix tests/firefox`. Skipped (exit 77) without
# firefox-esr, node or those node modules.
TESTS += tests/e2e-firefox.sh
dist_noinst_SCRIPTS += tests/e2e-firefox.sh
dist_noinst_DATA += \
	tests/firefox/package.json \
	tests/firefox/package-lock.json \
	tests/firefox/drive.mjs \
	tests/firefox/serve.mjs \
	tests/firefox/user.js
