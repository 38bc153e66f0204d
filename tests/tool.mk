# Tests of the nssguard tool (tools/): exact output and exit status of each
# subcommand on the PKI from tests/pki.sh and on ../shared/data.
TOOL_TESTS = \
	tests/tool-check.sh \
	tests/tool-keys.sh \
	tests/tool-import.sh \
	tests/tool-verify.sh \
	tests/tool-audit.sh \
	tests/tool-constraints.sh \
	tests/tool-faults.sh \
	tests/tool-cli.sh \
	tests/tool-crl.sh \
	tests/tool-corpus.sh \
	tests/tool-output.sh

TESTS += $(TOOL_TESTS)
dist_noinst_SCRIPTS += $(TOOL_TESTS)

# issue 15: enable, status, disable and watch on a HOME in the output folder.
TESTS += tests/operate-enable.sh tests/operate-p11kit.sh tests/operate-attacks.sh
dist_noinst_SCRIPTS += tests/operate-enable.sh tests/operate-p11kit.sh tests/operate-attacks.sh
