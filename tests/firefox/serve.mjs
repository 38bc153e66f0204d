// serve.mjs PORTFILE NAME=P12FILE...: one HTTPS server per NAME on
// 127.0.0.1 (a free port each), serving its PKCS#12 leaf and sub-CA.
// Writes "NAME PORT" lines to PORTFILE once every server listens, and
// exits by itself after 400 s in case nobody stops it.
// The PKCS#12 files come from pk12util with the password "nssguard".
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createServer } from "node:https";

const [portFile, ...specs] = process.argv.slice(2);
if (!portFile || specs.length === 0) {
    console.error("usage: serve.mjs PORTFILE NAME=P12FILE...");
    process.exit(2);
}

function page(name) {
    return `<!doctype html>
<html><head><meta charset="utf-8"><title>nssguard test site: ${name}</title></head>
<body><h1>nssguard test site: ${name}</h1>
<p id="marker">loaded over TLS from the ${name} chain</p></body></html>
`;
}

const servers = specs.map((spec) => {
    const eq = spec.indexOf("=");
    const name = spec.slice(0, eq);
    const server = createServer(
        { pfx: readFileSync(spec.slice(eq + 1)), passphrase: "nssguard" },
        (req, res) => {
            if (req.url === "/favicon.ico") {
                res.writeHead(404).end();
                return;
            }
            res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
            res.end(page(name));
        },
    );
    server.on("tlsClientError", (err) => console.error(`${name}: TLS: ${err.message}`));
    return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => resolve(`${name} ${server.address().port}`));
    });
});

Promise.all(servers).then(
    (lines) => {
        writeFileSync(portFile + ".tmp", lines.join("\n") + "\n");
        // renamed so the test never reads a half-written file
        renameSync(portFile + ".tmp", portFile);
    },
    (err) => {
        console.error(`serve.mjs: ${err.message}`);
        process.exit(1);
    },
);
setTimeout(() => process.exit(0), 400_000).unref();
process.on("SIGTERM", () => process.exit(0));
