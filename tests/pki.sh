#!/bin/sh
# pki.sh DIR: a throwaway test PKI made with certutil alone.
#
#   root ─┬─ mitm-ca ──── mitm-leaf     (distrusted by overlay.txt, full record)
#         ├─ good-ca ──── good-leaf     (never distrusted)
#         ├─ isonly-ca ── isonly-leaf   (distrusted by issuer+serial only)
#         ├─ tc-ca                      (technically constrained: EKU serverAuth,
#         │                              names example.com, 192.0.2.0/24, O=nssguard
#         │                              tests; ::/0 excluded)
#         ├─ ncdns-ca                   (EKU serverAuth, dNSName constraint only)
#         └─ codesign-ca                (EKU codeSigning only: not for TLS)
#
# DIR gets db/ (every certificate, the CA keys), NAME-server/ (NAME-leaf with
# its key and NAME-ca, for selfserv), NAME.der and NAME.pem for each
# certificate, NAME-chain.pem (leaf then sub-CA) for each chain and
# overlay.txt, written by $NSSGUARD_TOOL (default ./nssguard). The three CAs
# for `nssguard audit` (tc-ca, ncdns-ca, codesign-ca) are made only when
# openssl is installed (it encodes their name constraints); without it the
# file no-audit-cas says so.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
tool=${NSSGUARD_TOOL:-./nssguard}
org="O=nssguard tests"

mkdir -p "$dir/db"
rm -f "$dir"/db/*.db "$dir"/db/pkcs11.txt
certutil -N -d "sql:$dir/db" --empty-password
head -c 2048 /dev/urandom >"$dir/noise"

log=$dir/certutil.log
: >"$log"

# run CMD...: runs a command quietly, shows its output if it fails.
run()
{
    if ! "$@" >>"$log" 2>&1; then
        echo "pki.sh: failed: $*" >&2
        cat "$log" >&2
        exit 1
    fi
}

# ca NICK SUBJECT ISSUER|self SERIAL: a CA, key and certificate in db/.
ca()
{
    if [ "$3" = self ]; then
        set -- "$1" "$2" -x "$4"
    else
        set -- "$1" "$2" "-c $3" "$4"
    fi
    # -2 asks: a CA? path length (enter: none)? critical?
    printf 'y\n\ny\n' >"$dir/answers"
    run sh -c 'certutil -S -d "sql:$0/db" -n "$1" -s "$2" $3 -t ",," -m "$4" \
        -k ec -q secp256r1 -z "$0/noise" -v 120 -w -1 \
        -2 --keyUsage certSigning,crlSigning <"$0/answers"' "$dir" "$@"
    export_cert "$1"
}

# leaf NAME SERIAL: NAME-leaf issued by NAME-ca for localhost. All leaves
# share one subject, and certutil -L -n prints every certificate with the
# nickname's subject, so each leaf is written by certutil -C and its key
# lives in its own server db, NAME-server/, beside NAME-ca's certificate.
leaf()
{
    srv=$dir/$1-server
    mkdir -p "$srv"
    rm -f "$srv"/*.db "$srv"/pkcs11.txt
    run certutil -N -d "sql:$srv" --empty-password
    run certutil -R -d "sql:$srv" -s "CN=localhost,$org" -k ec -q secp256r1 \
        -z "$dir/noise" -o "$dir/$1-leaf.req"
    run certutil -C -d "sql:$dir/db" -c "$1-ca" -i "$dir/$1-leaf.req" -o "$dir/$1-leaf.der" \
        -m "$2" -v 120 -w -1 --extSAN dns:localhost,ip:127.0.0.1 \
        --extKeyUsage serverAuth --keyUsage digitalSignature
    run certutil -A -d "sql:$srv" -n "$1-leaf" -t ",," -i "$dir/$1-leaf.der"
    run certutil -A -d "sql:$srv" -n "$1-ca" -t ",," -i "$dir/$1-ca.der"
    run certutil -A -d "sql:$dir/db" -n "$1-leaf" -t ",," -i "$dir/$1-leaf.der"
    rm -f "$dir/$1-leaf.req"
    certutil -L -d "sql:$srv" -n "$1-leaf" -a >"$dir/$1-leaf.pem"
}

export_cert()
{
    certutil -L -d "sql:$dir/db" -n "$1" -r >"$dir/$1.der"
    certutil -L -d "sql:$dir/db" -n "$1" -a >"$dir/$1.pem"
}

ca root "CN=nssguard Test Root,$org" self 1
ca mitm-ca "CN=nssguard MITM sub-CA,$org" root 11
ca good-ca "CN=nssguard Good sub-CA,$org" root 12
ca isonly-ca "CN=nssguard Issuer-Serial sub-CA,$org" root 13
# ca_ext NICK SUBJECT SERIAL CERTUTIL-ARGS...: a sub-CA of root with extra
# extensions (--extKeyUsage, --extGeneric).
ca_ext()
{
    nick=$1 subject=$2 serial=$3
    shift 3
    printf 'y\n\ny\n' >"$dir/answers"
    run sh -c 'd=$1; shift; certutil -S -d "sql:$d/db" "$@" -t ",," \
        -k ec -q secp256r1 -z "$d/noise" -v 120 -w -1 \
        -2 --keyUsage certSigning,crlSigning <"$d/answers"' sh "$dir" \
        -n "$nick" -s "$subject" -c root -m "$serial" "$@"
    export_cert "$nick"
}

# nc_der FILE SECTIONS: a DER NameConstraints from an openssl genconf text.
nc_der()
{
    printf '%s\n' "$2" >"$1.cnf"
    run openssl asn1parse -genconf "$1.cnf" -out "$1"
    rm -f "$1.cnf"
}

leaf mitm 101
leaf good 102
leaf isonly 103

if command -v openssl >/dev/null 2>&1; then
    # permitted: dNSName example.com, iPAddress 192.0.2.0/24, directoryName
    # O=nssguard tests; excluded: iPAddress ::/0. Section 7.1.5 of the
    # Baseline Requirements, as Mozilla's policy 5.3.1 asks for serverAuth.
    nc_der "$dir/tc-nc.der" 'asn1=SEQUENCE:nc
[nc]
permitted=IMPLICIT:0,SEQUENCE:permitted
excluded=IMPLICIT:1,SEQUENCE:excluded
[permitted]
dns=SEQUENCE:dns
ip=SEQUENCE:ip4
dir=SEQUENCE:dir
[dns]
base=IMPLICIT:2,IA5STRING:example.com
[ip4]
base=IMPLICIT:7,FORMAT:HEX,OCTETSTRING:C0000200FFFFFF00
[dir]
base=EXPLICIT:4,SEQUENCE:dn
[dn]
o=SET:rdn
[rdn]
o=SEQUENCE:atv
[atv]
type=OID:organizationName
value=UTF8:nssguard tests
[excluded]
ip6=SEQUENCE:ip6
[ip6]
base=IMPLICIT:7,FORMAT:HEX,OCTETSTRING:0000000000000000000000000000000000000000000000000000000000000000'
    # permitted: dNSName example.com, nothing else.
    nc_der "$dir/ncdns-nc.der" 'asn1=SEQUENCE:nc
[nc]
permitted=IMPLICIT:0,SEQUENCE:permitted
[permitted]
dns=SEQUENCE:dns
[dns]
base=IMPLICIT:2,IA5STRING:example.com'
    ca_ext tc-ca "CN=nssguard Constrained sub-CA,$org" 14 --extKeyUsage serverAuth \
        --extGeneric "2.5.29.30:critical:$dir/tc-nc.der"
    ca_ext ncdns-ca "CN=nssguard DNS-only sub-CA,$org" 15 --extKeyUsage serverAuth \
        --extGeneric "2.5.29.30:critical:$dir/ncdns-nc.der"
    ca_ext codesign-ca "CN=nssguard Code Signing sub-CA,$org" 16 --extKeyUsage codeSigning
else
    echo "openssl is not installed: no tc-ca, ncdns-ca, codesign-ca" >"$dir/no-audit-cas"
fi
rm -f "$dir/noise" "$dir/answers"

for c in mitm good isonly; do
    cat "$dir/$c-leaf.pem" "$dir/$c-ca.pem" >"$dir/$c-chain.pem"
done

{
    "$tool" add --reason mitm --ref https://example.test/mitm \
        --label "nssguard MITM sub-CA" "$dir/mitm-ca.der"
    "$tool" add --issuer-serial --reason revoked --ref https://example.test/isonly \
        --label "nssguard Issuer-Serial sub-CA" "$dir/isonly-ca.der"
} >"$dir/overlay.txt.tmp"
mv "$dir/overlay.txt.tmp" "$dir/overlay.txt"

# An RSA-signed distrusted sub-CA, in DIR/rsa/ so that nothing above changes
# (tests count the certificates in DIR and db/ and the entries of
# overlay.txt):
#
#   rsa-root (RSA 2048) ── rsamitm-ca ── rsamitm-leaf
#
# rsamitm-ca has an EC key; rsa-root signs it with sha256WithRSAEncryption,
# whose NULL parameters are outside the signed part. DIR/rsa/ gets db/,
# rsamitm-server/, NAME.der and NAME.pem, rsamitm-chain.pem and overlay.txt:
# DIR/overlay.txt followed by an `nssguard add` entry for rsamitm-ca.
top=$dir
dir=$top/rsa
mkdir -p "$dir/db"
rm -f "$dir"/db/*.db "$dir"/db/pkcs11.txt
run certutil -N -d "sql:$dir/db" --empty-password
head -c 2048 /dev/urandom >"$dir/noise"
printf 'y\n\ny\n' >"$dir/answers"
run sh -c 'certutil -S -d "sql:$0/db" -n rsa-root -s "CN=nssguard RSA Test Root,$1" -x \
    -t ",," -m 2 -k rsa -g 2048 -z "$0/noise" -v 120 -w -1 \
    -2 --keyUsage certSigning,crlSigning <"$0/answers"' "$dir" "$org"
export_cert rsa-root
ca rsamitm-ca "CN=nssguard RSA MITM sub-CA,$org" rsa-root 21
leaf rsamitm 201
rm -f "$dir/noise" "$dir/answers"
cat "$dir/rsamitm-leaf.pem" "$dir/rsamitm-ca.pem" >"$dir/rsamitm-chain.pem"
{
    cat "$top/overlay.txt"
    "$tool" add --reason mitm --ref https://example.test/rsamitm \
        --label "nssguard RSA MITM sub-CA" "$dir/rsamitm-ca.der"
} >"$dir/overlay.txt.tmp"
mv "$dir/overlay.txt.tmp" "$dir/overlay.txt"
dir=$top
