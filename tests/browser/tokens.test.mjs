// A store and an admin chat across token renewals. The shop's page embeds the widget with
// `token-url`, and the inbox is opened with `token_url`: endpoints of the platform that mint
// short-lived tokens through the platform API (signed with SigV4 by
// docs/examples/platform_token.py, botocore's signer). Each client renews before its token
// expires, moves its live connection to the new token, and loses or doubles nothing,
// although the connection of the first token hears nothing once it has expired.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, test } from "node:test";

import { ROOT, call, launchChromium, messageTexts, startGateway, waitForText } from "./harness.mjs";

const PLATFORM = { id: "AKIDSHOPPLATFORM", secret: "shop-platform-secret" };
const LIFETIME_SECONDS = 10;
const sarahToken = "sarah-token-for-the-renewal-test-0123456789abcdef";
const SEED = {
  stores: [{ id: 7, name: "Parcel Shop", logo_url: "", email: "shop@example.com", token: "shop-token-for-the-renewal-test-0123456789abcdef" }],
  admins: [{ id: 1, name: "Sarah", email: "sarah@example.com", token: sarahToken }],
};

let browser;
before(async () => {
  browser = await launchChromium();
});
after(async () => {
  await browser?.close();
});

/** The shop: its page, and `/chat-token` (the store's) and `/admin-token` (Sarah's), which
 * mint through the platform API. `minted(path, n)` resolves once the n-th token of `path` was
 * asked for. */
async function startShopWithTokens(gateway) {
  const asked = { "/chat-token": [], "/admin-token": [] };
  const waiting = [];
  const minted = (path, n) =>
    new Promise((resolve) => (asked[path].length >= n ? resolve() : waiting.push({ path, n, resolve })));
  const page = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A shop</title></head>
<body>
  <main><h1>A shop that signs its shoppers in</h1></main>
  <script type="module" src="${gateway.api}/widget/support-chat.js"></script>
  <support-chat api="${gateway.api}" ws="${gateway.ws}" token-url="/chat-token" open></support-chat>
</body></html>`;
  const server = createServer(async (request, response) => {
    const who = { "/chat-token": ["store", "7"], "/admin-token": ["admin", "1"] }[request.url];
    if (!who) {
      response.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      return response.end(page);
    }
    const script = join(ROOT, "docs/examples/platform_token.py");
    const env = { ...process.env, AWS_ACCESS_KEY_ID: PLATFORM.id, AWS_SECRET_ACCESS_KEY: PLATFORM.secret };
    const args = [script, gateway.api, ...who, String(LIFETIME_SECONDS)];
    const { stdout } = await promisify(execFile)(join(ROOT, ".cache/venv/bin/python"), args, { env });
    asked[request.url].push(JSON.parse(stdout));
    for (const wait of waiting.filter((w) => asked[w.path].length >= w.n)) wait.resolve();
    // The inbox asks from the gateway's origin, with the platform's cookies.
    const origin = request.headers.origin;
    response.writeHead(200, {
      "Content-Type": "application/json",
      ...(origin ? { "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true" } : {}),
    });
    response.end(stdout);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${server.address().port}/`;
  return { url, asked, minted, stop: () => new Promise((resolve) => server.close(resolve)) };
}

test("the widget and the inbox chat across token renewals with nothing lost or doubled", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "tokens-"));
  writeFileSync(join(dir, "seed.json"), JSON.stringify(SEED));
  const gateway = await startGateway(["--seed", join(dir, "seed.json"), "--platform-credentials", `${PLATFORM.id}:${PLATFORM.secret}`]);
  const shop = await startShopWithTokens(gateway);
  t.after(async () => {
    await shop.stop();
    await gateway.stop();
  });
  const context = await browser.newContext({ viewport: { width: 390, height: 760 } });
  const adminContext = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  t.after(() => Promise.all([context.close(), adminContext.close()]));
  const inbox = await adminContext.newPage();
  const query = new URLSearchParams({ api: gateway.api, ws: gateway.ws, token_url: `${shop.url}admin-token`, admin_id: "1" });
  await inbox.goto(`${gateway.api}/inbox/?${query}`);
  await waitForText(inbox.getByTestId("connection-status"), "Connected");
  const store = await context.newPage();
  await store.goto(shop.url);
  await waitForText(store.getByTestId("connection-status"), "Connected");
  await store.getByTestId("composer-input").fill("Before the renewal");
  await store.getByTestId("composer-input").press("Enter");
  const stored = (text) => store.locator("[data-testid=message][data-message-id]", { hasText: text }).waitFor();
  await stored("Before the renewal");

  // Two renewals each: by the third token, the first one has expired, and so has its connection.
  await Promise.all([shop.minted("/chat-token", 3), shop.minted("/admin-token", 3)]);
  const [first, , third] = shop.asked["/chat-token"];
  assert.ok(Date.parse(third.expires_at) > Date.parse(first.expires_at) + 1000, "each renewal is a new token");
  const session = await call(gateway, sarahToken, "GET", "/v1/chat/admin/sessions/?status=open");
  const id = session.sessions[0].id;
  await call(gateway, sarahToken, "POST", "/v1/chat/admin/session/claim/", { session_id: id });
  await call(gateway, sarahToken, "POST", "/v1/chat/admin/messages/", { session_id: id, content: "After two renewals" });
  await store.locator("[data-testid=message]", { hasText: "After two renewals" }).waitFor();
  await inbox.getByTestId("tab-mine").click();
  await inbox.locator("[data-testid=session-item]", { hasText: "After two renewals" }).waitFor();
  await store.getByTestId("composer-input").fill("Still here");
  await store.getByTestId("composer-input").press("Enter");
  await stored("Still here");
  // Sarah's inbox, on its third token, hears it live.
  await inbox.locator("[data-testid=session-item]", { hasText: "Still here" }).waitFor();

  assert.deepEqual(await messageTexts(store), ["Before the renewal", "After two renewals", "Still here"]);
  await waitForText(store.getByTestId("connection-status"), "Connected");
  assert.equal(await store.getByTestId("alert").isHidden(), true, "no error shown");
});
