// background.js: the nssguard trust-refresh extension.
//
// Firefox caches certificate trust (its CertVerifier trust cache), so a
// distrust that nssguard's module starts serving while Firefox runs does not
// reach a CA this Firefox has already met. Firefox drops that cache whenever
// a PKCS#11 module is added to or deleted from its module database, which an
// extension with the "pkcs11" permission may do (browser.pkcs11).
//
// When: the native-messaging host "nssguard" (`nssguard watch --native`)
// sends {"generation": ...} once at start and again whenever the configured
// overlay files change. On each new generation the extension adds and
// deletes "nssguard_refresh" (libnssguard-refresh.so, a module with no
// slots, named by the PKCS#11 manifest pkcs11-modules/nssguard_refresh.json
// that `nssguard enable --firefox-extension` writes). The next NEW
// connection is verified afresh against what libnssguard.so serves then.
"use strict";

const HOST = "nssguard";
const REFRESH = "nssguard_refresh";
const RETRY_MS = 5000;

let seen = null;
let busy = Promise.resolve();

function log(msg) {
    console.log(`nssguard: ${msg}`);
}

// Adds and deletes the slot-less refresh module: each of the two calls
// clears Firefox's trust cache (PKCS11ModuleDB's AddModule and DeleteModule
// call CertVerifier::ClearTrustCache, success or not), and the profile ends
// as it was. libnssguard.so itself stays loaded: it reloads the overlay
// files on its own.
async function refresh(generation) {
    const t0 = Date.now();
    const steps = [];
    for (const step of ["installModule", "uninstallModule"]) {
        try {
            await browser.pkcs11[step](REFRESH);
            steps.push(`${step}: ok`);
        } catch (e) {
            steps.push(`${step}: ${e.message}`);
        }
    }
    const ok = steps.every((s) => s.endsWith(": ok"));
    log(`generation ${generation}: ${steps.join("; ")} in ${Date.now() - t0} ms`);
    return { [ok ? "refreshed" : "failed"]: generation, ms: Date.now() - t0, steps };
}

function connect() {
    let port;
    try {
        port = browser.runtime.connectNative(HOST);
    } catch (e) {
        log(`connectNative: ${e.message}`);
        setTimeout(connect, RETRY_MS);
        return;
    }
    port.onMessage.addListener((msg) => {
        if (!msg || msg.generation === undefined)
            return;
        const first = seen === null;
        const changed = !first && msg.generation !== seen;
        seen = msg.generation;
        if (!changed) {
            port.postMessage({ ready: msg.generation });
            return;
        }
        busy = busy.then(() => refresh(msg.generation)).then((r) => {
            try {
                port.postMessage(r);
            } catch (e) {
                /* the host went away; it restarts below */
            }
        });
    });
    port.onDisconnect.addListener((p) => {
        log(`host disconnected: ${p.error ? p.error.message : "no error"}`);
        setTimeout(connect, RETRY_MS);
    });
}

connect();
