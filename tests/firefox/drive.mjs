// drive.mjs: starts headless Firefox on a given profile, drives it through
// its built-in WebDriver BiDi remote agent (a minimal client over `ws`),
// loads each URL and prints one JSON line per page:
//
//   {"name", "url", "navigate" ("ok" or BiDi's error), "loaded" (the test
//    page's marker is there), "fetchError" (network.fetchError's errorText),
//    "status" (HTTP status), "documentURI", "title", "errorCode" (the NSS
//    error name on Firefox's certificate error page), "errorCard",
//    "exceptionButton" (the page offers "Accept the risk"), "marker",
//    "screenshot"}
//
// usage: node drive.mjs --firefox BIN --profile DIR --log FILE
//            [--pidfile FILE] [--wait-file FILE --wait-text TEXT]
//            [--install-after NAME --install SRC --into DST]
//            [--run-after NAME --run COMMAND
//             [--then-wait-file FILE --then-wait-text TEXT]]
//            [--screenshot-prefix PATH-] NAME=URL...
//
// --wait-file: before the first page, wait (up to 20 s) until FILE holds
// TEXT (the policy case waits for the module in the profile's pkcs11.txt).
// --run-after: after page NAME, run COMMAND with /bin/sh (the refresh case
// runs `nssguard add` there), print {"name": "_run", "at": ms since the
// epoch, "rc"}, and with --then-wait-file wait (up to 60 s) until FILE
// holds TEXT before the next page ({"name": "_wait", "found", "at"}).
// Every page's line carries "at": when its result was in.
// --install-after: once page NAME is done, copy SRC to DST.tmp and rename
// it to DST, as an administrator installs an overlay file, while this
// Firefox keeps running (the live reload case).
// --screenshot-prefix: a PNG of each whole page, PATH-NAME.png.
//
// Firefox inherits this process's environment (the test sets
// MOZ_DISABLE_NONLOCAL_CONNECTIONS, NSSGUARD_CONFIG...). Every step has a
// deadline, and Firefox's whole process group is killed on the way out.
import { spawn, spawnSync } from "node:child_process";
import {
    copyFileSync,
    createWriteStream,
    existsSync,
    readFileSync,
    renameSync,
    rmSync,
    writeFileSync,
} from "node:fs";
import WebSocket from "ws";

const STARTUP_MS = 30_000;
const COMMAND_MS = 20_000;
const TOTAL_MS = 75_000;

function parseArgs(argv) {
    const opt = { pages: [] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a.startsWith("--")) {
            opt[a.slice(2)] = argv[++i];
        } else {
            const eq = a.indexOf("=");
            opt.pages.push({ name: a.slice(0, eq), url: a.slice(eq + 1) });
        }
    }
    for (const k of ["firefox", "profile", "log"]) {
        if (!opt[k]) {
            console.error(`drive.mjs: --${k} is required`);
            process.exit(2);
        }
    }
    return opt;
}

const opt = parseArgs(process.argv.slice(2));
let firefox = null;

function note(msg) {
    console.error(`drive.mjs: ${msg}`);
}

function signalGroup(sig) {
    try {
        process.kill(-firefox.pid, sig); // its process group: content processes too
    } catch {
        /* nobody left */
    }
}

// SIGTERM to Firefox's process group, up to 3 s for it to go, then SIGKILL
// to whatever is left of the group.
function killFirefox() {
    if (!firefox || firefox.pid === undefined)
        return;
    signalGroup("SIGTERM");
    const nap = new Int32Array(new SharedArrayBuffer(4));
    const until = Date.now() + 3000;
    while (Date.now() < until && isAlive(firefox.pid))
        Atomics.wait(nap, 0, 0, 50);
    signalGroup("SIGKILL");
    firefox = null;
    if (opt.pidfile)
        rmSync(opt.pidfile, { force: true }); // nothing left for the test to kill
}

function isAlive(pid) {
    try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return !/^\d+ \(.*\) Z/.test(stat); // a zombie has exited
    } catch {
        return false;
    }
}

function fail(msg) {
    note(msg);
    killFirefox();
    process.exit(1);
}

process.on("SIGTERM", () => fail("terminated"));
process.on("SIGINT", () => fail("interrupted"));
process.on("exit", killFirefox);
const totalMs = TOTAL_MS + (opt["run-after"] ? 60_000 : 0);
setTimeout(() => fail(`gave up after ${totalMs / 1000} s`), totalMs).unref();

function startFirefox() {
    const log = createWriteStream(opt.log);
    const args = ["--headless", "--no-remote", "-profile", opt.profile, "--remote-debugging-port", "0", "about:blank"];
    firefox = spawn(opt.firefox, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    firefox.stdout.pipe(log, { end: false });
    if (opt.pidfile && firefox.pid !== undefined)
        writeFileSync(opt.pidfile, `${firefox.pid}\n`);
    return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no BiDi endpoint within 30 s")), STARTUP_MS);
        let buf = "";
        firefox.stderr.on("data", (chunk) => {
            log.write(chunk);
            if (buf === null)
                return;
            buf += chunk.toString();
            const m = buf.match(/WebDriver BiDi listening on (ws:\/\/\S+)/);
            if (m) {
                buf = null;
                clearTimeout(timer);
                resolve(m[1]);
            }
        });
        firefox.on("exit", (code, sig) => {
            clearTimeout(timer);
            reject(new Error(`Firefox exited (${code ?? sig}) before BiDi was up`));
        });
        firefox.on("error", reject);
    });
}

// A BiDi session: send(method, params) -> result; events are kept in a list.
function connect(url) {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const pending = new Map();
    const events = [];
    let nextId = 1;
    ws.on("message", (data) => {
        const msg = JSON.parse(data.toString());
        if (msg.type === "event") {
            events.push(msg);
        } else if (pending.has(msg.id)) {
            const { resolve, reject, timer } = pending.get(msg.id);
            pending.delete(msg.id);
            clearTimeout(timer);
            if (msg.type === "error")
                reject(new Error(`${msg.error}: ${msg.message}`));
            else
                resolve(msg.result);
        }
    });
    const send = (method, params = {}, ms = COMMAND_MS) =>
        new Promise((resolve, reject) => {
            const id = nextId++;
            const timer = setTimeout(() => {
                pending.delete(id);
                reject(new Error(`${method}: no answer within ${ms / 1000} s`));
            }, ms);
            pending.set(id, { resolve, reject, timer });
            ws.send(JSON.stringify({ id, method, params }));
        });
    return new Promise((resolve, reject) => {
        ws.once("open", () => resolve({ ws, send, events }));
        ws.once("error", reject);
    });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitForFile(file, text, ms) {
    const until = Date.now() + ms;
    while (Date.now() < until) {
        if (existsSync(file) && readFileSync(file, "utf8").includes(text))
            return true;
        await sleep(100);
    }
    return false;
}

// What the page shows. Firefox 153's certificate error page is a
// <net-error-card> whose shadow DOM keeps the NSS error name in the
// "Advanced" section (#errorCode's data-l10n-args): open that section
// once, then read it and whether an "Accept the risk" button is offered.
const INSPECT = `(async () => {
    const card = document.querySelector("net-error-card");
    const root = card?.shadowRoot;
    const advanced = root?.querySelector("#advanced-button");
    if (advanced && !root.querySelector("#errorCode")) {
        advanced.click();
        await card.updateComplete;
    }
    let errorCode = null;
    const codeEl = root?.querySelector("#errorCode");
    if (codeEl) {
        try {
            errorCode = JSON.parse(codeEl.getAttribute("data-l10n-args")).error;
        } catch (e) {}
    }
    const text = (root ? root.textContent : "") + document.body?.textContent;
    if (!errorCode) {
        const m = text.match(/\\b(?:SEC_ERROR|SSL_ERROR|MOZILLA_PKIX_ERROR)_[A-Z0-9_]+/);
        errorCode = m ? m[0] : null;
    }
    const marker = document.getElementById("marker");
    return JSON.stringify({
        documentURI: document.documentURI,
        title: document.title,
        errorCode,
        errorCard: Boolean(card),
        exceptionButton: Boolean(root?.querySelector("#exception-button")),
        marker: marker ? marker.textContent : null,
    });
})()`;

async function inspect(send, context) {
    let info = null;
    for (let i = 0; i < 30; i++) {
        const r = await send("script.evaluate", {
            expression: INSPECT,
            target: { context },
            awaitPromise: true,
            userActivation: true,
        });
        info = r.type === "success" ? JSON.parse(r.result.value) : { exception: r.exceptionDetails?.text };
        if (info.marker || info.errorCode)
            break;
        await sleep(100);
    }
    return info;
}

async function runThenWait() {
    const at = Date.now();
    const r = spawnSync("/bin/sh", ["-c", opt.run], { stdio: ["ignore", "inherit", "inherit"] });
    console.log(JSON.stringify({ name: "_run", at, rc: r.status }));
    if (!opt["then-wait-file"])
        return;
    const found = await waitForFile(opt["then-wait-file"], opt["then-wait-text"] || "", 60_000);
    console.log(JSON.stringify({ name: "_wait", found, at: Date.now() }));
}

async function main() {
    const endpoint = await startFirefox();
    const { ws, send, events } = await connect(`${endpoint}/session`);
    await send("session.new", { capabilities: { alwaysMatch: { acceptInsecureCerts: false } } });
    await send("session.subscribe", { events: ["network.fetchError", "network.responseCompleted"] });
    const tree = await send("browsingContext.getTree", { maxDepth: 0 });
    const context = tree.contexts[0].context;

    if (opt["wait-file"]) {
        const found = await waitForFile(opt["wait-file"], opt["wait-text"] || "", 20_000);
        if (!found)
            note(`${opt["wait-file"]} did not mention "${opt["wait-text"]}" within 20 s`);
    }

    for (const { name, url } of opt.pages) {
        // From a blank page: a certificate error page that followed an
        // earlier one in the same tab said "Error Code: nssBadCert", without
        // the NSS error name (measured, ESR 153).
        await send("browsingContext.navigate", { context, url: "about:blank", wait: "complete" });
        const first = events.length;
        let navigate = "ok";
        try {
            await send("browsingContext.navigate", { context, url, wait: "complete" });
        } catch (err) {
            navigate = err.message;
        }
        const info = await inspect(send, context);
        const mine = events.slice(first).filter((e) => e.params?.request?.url?.startsWith(url));
        const fetchError = mine.find((e) => e.method === "network.fetchError");
        const response = mine.find((e) => e.method === "network.responseCompleted");
        const result = {
            name,
            url,
            navigate,
            loaded: Boolean(info.marker),
            fetchError: fetchError ? fetchError.params.errorText : null,
            status: response ? response.params.response.status : null,
            ...info,
        };
        if (opt["screenshot-prefix"]) {
            const shot = await send("browsingContext.captureScreenshot", { context, origin: "document" });
            const file = `${opt["screenshot-prefix"]}${name}.png`;
            writeFileSync(file, Buffer.from(shot.data, "base64"));
            result.screenshot = file;
        }
        result.at = Date.now();
        console.log(JSON.stringify(result));
        if (opt["run-after"] === name)
            await runThenWait();
        if (opt["install-after"] === name) {
            copyFileSync(opt.install, `${opt.into}.tmp`);
            renameSync(`${opt.into}.tmp`, opt.into);
            note(`installed ${opt.install} as ${opt.into}`);
        }
    }
    try {
        await send("session.end", {}, 5000);
    } catch {
        /* Firefox is killed next anyway */
    }
    ws.close();
}

main().then(
    () => {
        killFirefox();
        process.exit(0);
    },
    (err) => fail(err.message),
);
