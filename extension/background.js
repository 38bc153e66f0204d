// background.js: the nssguard trust-refresh extension.
//
// Firefox caches certificate trust (its CertVerifier trust cache, and NSS's
// trust on a certificate it holds), so a distrust that nssguard's module
// starts serving while Firefox runs never reaches a CA this Firefox has
// already met. Removing and re-adding the PKCS#11 module is the supported
// way to make Firefox drop that cache: nsIPKCS11ModuleDB's deleteModule and
// addModule, reached through browser.pkcs11 (uninstallModule, installModule).
//
// When: the native-messaging host "nssguard" (a small wrapper that runs
// `nssguard watch --native`) sends {"generation": N, ...} once at start and
// again whenever the configured overlay files change. On every generation
// after the first, the module is removed and re-added. The module's PKCS#11
// manifest (pkcs11-modules/nssguard.json) names the same library that the
// enterprise policy (SecurityDevices) or nssguard enable installed: re-added
// without parameters, it reads nssguard.conf.
"use strict";

const HOST = "nssguard";
const MODULE = "nssguard";
const RETRY_MS = 5000;

let seen = null;
let busy = Promise.resolve();

function log(msg) {
    console.log(`nssguard: ${msg}`);
}

async function refresh(generation) {
    const t0 = Date.now();
    try {
        if (await browser.pkcs11.isModuleInstalled(MODULE))
            await browser.pkcs11.uninstallModule(MODULE);
    } catch (e) {
        log(`uninstallModule: ${e.message}`);
    }
    try {
        await browser.pkcs11.installModule(MODULE);
        log(`generation ${generation}: module re-added in ${Date.now() - t0} ms`);
        return { refreshed: generation, ms: Date.now() - t0 };
    } catch (e) {
        log(`installModule: ${e.message}`);
        return { failed: generation, error: String(e.message) };
    }
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
