// A store that writes faster than the deployment's limit of messages a minute: what the
// limit refuses stays on screen as not sent yet, in the order it was written, with nothing
// lost and no error in the way; what went through is there for the team.

import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, test } from "node:test";

import { ROOT, call, launchChromium, messageTexts, startGateway, startShop, waitForText } from "./harness.mjs";

// As the other browser tests: `SCREENSHOTS=web/screenshots/ infra/test.sh` refreshes the docs'.
const SCREENSHOTS = `${resolve(ROOT, process.env.SCREENSHOTS ?? "target/screenshots")}/`;

/** Writes `written` in `page`'s composer one after the other, faster than the limit: at
 * most two a minute go through (four, if the minute turned meanwhile), the others wait,
 * each marked with `state` in its `stateSelector`, after them in the order written. How
 * many wait. */
async function writeFasterThanTheLimit(page, written, stateSelector, state) {
  const input = page.getByTestId("composer-input");
  for (const text of written) {
    await input.fill(text);
    await input.press("Enter");
  }
  const waiting = page.locator("[data-testid=message][data-pending=true]");
  await waitForText(waiting.last().locator(stateSelector), state);
  // Every send answered: none is on its way any more.
  await page.locator(stateSelector, { hasText: "Sending" }).first().waitFor({ state: "detached" });
  const held = await waiting.count();
  assert.ok(held >= 1, "nothing was held back");
  for (let i = 0; i < held; i++) await waitForText(waiting.nth(i).locator(stateSelector), state);
  assert.deepEqual(await waiting.locator("[data-testid=content]").allTextContents(), written.slice(written.length - held));
  return held;
}

let browser;
before(async () => {
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
});

test("messages past the minute's limit wait, in order, as not sent yet", async (t) => {
  const gateway = await startGateway(["--messages-per-minute", "2"]);
  const shop = await startShop(gateway);
  const context = await browser.newContext({ viewport: { width: 390, height: 760 } });
  t.after(async () => {
    await context.close();
    await shop.stop();
    await gateway.stop();
  });
  const store = await context.newPage();
  await store.goto(shop.url);
  await waitForText(store.getByTestId("connection-status"), "Connected");

  const written = ["Hello", "My parcel is late", "Order 1042", "It was due Monday", "Can you check?"];
  const held = await writeFasterThanTheLimit(store, written, "[data-testid=pending-state]", "Not sent yet: will retry");
  await store.screenshot({ path: `${SCREENSHOTS}widget-held.png` });
  assert.deepEqual(await messageTexts(store), written);
  assert.equal(await store.getByTestId("alert").isVisible(), false, "a wait is no error");

  const queue = await call(gateway, gateway.admin_token, "GET", "/v1/chat/admin/sessions/?status=open");
  assert.equal(queue.sessions[0].message_count, written.length - held);
});

test("an admin's replies past the limit wait in the inbox, in order, and say why", async (t) => {
  const gateway = await startGateway(["--messages-per-minute", "2"]);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(async () => {
    await context.close();
    await gateway.stop();
  });
  const first = await call(gateway, gateway.store_token, "POST", "/v1/chat/store/messages/", { content: "Hello?" });
  await call(gateway, gateway.admin_token, "POST", "/v1/chat/admin/session/claim/", { session_id: first.session_id });
  const inbox = await context.newPage();
  await inbox.goto(`${gateway.api}/inbox/`);
  await waitForText(inbox.getByTestId("connection-status"), "Connected");
  await inbox.getByTestId("tab-mine").click();
  await inbox.locator(`[data-testid=session-item][data-session-id="${first.session_id}"]`).click();
  await inbox.locator("[data-testid=mode-reply]:checked:enabled").waitFor();

  const written = ["Hi!", "Let me look.", "Found it.", "It ships today.", "Anything else?"];
  const state = "Waiting: a minute's messages were sent, the rest follow";
  await writeFasterThanTheLimit(inbox, written, ".pending-state", state);
  await inbox.screenshot({ path: `${SCREENSHOTS}inbox-held.png` });
  assert.deepEqual(await messageTexts(inbox), ["Hello?", ...written]);
  assert.equal(await inbox.getByTestId("alert").isVisible(), false, "a wait is no error");
});
