// What the browser tests stand on: a local gateway of their own (the embedded store and
// the demo identities), a page on another origin that embeds the widget, Debian's Chromium
// driven by Playwright, and the API called straight from Node where a test only sets the
// scene.

import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { crc32, deflateSync } from "node:zlib";

import { chromium } from "playwright-core";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GATEWAY = `${ROOT}target/debug/local-gateway`;

/** A PNG of `width`×`height`: a parcel-brown box with a crack across it. */
function picture(width, height) {
  const rows = [];
  for (let y = 0; y < height; y++) {
    const row = [0]; // No filter.
    for (let x = 0; x < width; x++) {
      const crack = Math.abs(y - height / 2 - Math.round(12 * Math.sin(x / 9))) < 2;
      row.push(...(crack ? [40, 30, 20] : [196, 150, 96]));
    }
    rows.push(Buffer.from(row));
  }
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type), data])));
    return Buffer.concat([length, Buffer.from(type), data, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8-bit RGB.
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.concat(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** A photo of a broken parcel, small enough to send, big enough to see. */
export const PNG = picture(180, 120);

/** A gateway on free ports with the demo store and admin, or with `args` (a seed file of
 * its own, say); `stop()` ends it. Tests write faster than people: the limit of messages a
 * minute is off unless `args` set it. */
export async function startGateway(args = []) {
  const limit = args.includes("--messages-per-minute") ? [] : ["--messages-per-minute", "0"];
  const child = spawn(GATEWAY, ["--http-port", "0", "--ws-port", "0", ...limit, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines = createInterface({ input: child.stdout });
  const api = await new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`the gateway exited with ${code}`)));
    lines.on("line", (line) => {
      const ready = line.match(/^local-gateway ready: (http:\/\/\S+)/);
      if (ready) resolve(ready[1]);
    });
  });
  // Its log goes on being read, so that it never blocks on a full pipe.
  lines.on("line", () => {});
  const demo = await (await fetch(`${api}/config.json`)).json();
  const stop = () =>
    new Promise((resolve) => {
      child.once("exit", resolve);
      child.kill("SIGTERM");
    });
  return { ...demo, stop };
}

/** A seed file of `stores` shops and the admins named in `admins`, ids from 1, each with a
 * token of its own made from `test`'s name, for a gateway's `--seed`: where it is, and who
 * is in it. A store holds one conversation at a time, so a busy scene needs many. */
export function writeSeed(test, { stores, admins }) {
  const token = (who) => `${who}-token-for-the-${test}-test-0123456789abcdef`;
  const seed = {
    stores: Array.from({ length: stores }, (_, i) => ({
      id: i + 1, name: `Shop ${i + 1}`, logo_url: "", email: `shop-${i + 1}@example.com`, token: token(`shop-${i + 1}`),
    })),
    admins: admins.map((name, i) => ({ id: i + 1, name, email: `${name.toLowerCase()}@example.com`, token: token(name.toLowerCase()) })),
  };
  const path = join(mkdtempSync(join(tmpdir(), `${test}-`)), "seed.json");
  writeFileSync(path, JSON.stringify(seed));
  return { path, ...seed };
}

/** Calls the API as the party of `token`; throws on an error status. */
export async function call(gateway, token, method, path, body) {
  const response = await fetch(gateway.api + path, {
    method,
    headers: { Authorization: `Token ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

/** A shop's page on an origin of its own that embeds the widget with one script tag. */
export async function startShop(gateway, { open = true, lang = null, token = gateway.store_token } = {}) {
  const page = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>A shop</title></head>
<body>
  <main><h1>A shop on another origin</h1><p>Questions about your order? Ask us.</p></main>
  <script type="module" src="${gateway.api}/widget/support-chat.js"></script>
  <support-chat api="${gateway.api}" ws="${gateway.ws}" token="${token}"${open ? " open" : ""}${lang ? ` lang="${lang}"` : ""}></support-chat>
</body>
</html>`;
  const server = createServer((request, response) => {
    response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
    response.end(page);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/`, stop: () => new Promise((resolve) => server.close(resolve)) };
}

/** Debian's Chromium, headless, kept off the network beyond this machine. */
export function launchChromium() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
      "--disable-sync",
    ],
  });
}

/** The texts of a page's messages (`data-testid=message`), in the order shown. */
export function messageTexts(page) {
  return page.locator("[data-testid=message] [data-testid=content]").allTextContents();
}

/** Waits until `locator` holds exactly `text` (Playwright's own polling, not a sleep). */
export async function waitForText(locator, text) {
  await locator.filter({ hasText: new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`) }).first().waitFor();
}
