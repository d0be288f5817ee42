// A store that writes faster than the deployment's limit of messages a minute: what the
// limit refuses stays on screen as not sent yet, in the order it was written, with nothing
// lost and no error in the way; what went through is there for the team.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { call, launchChromium, messageTexts, startGateway, startShop, waitForText } from "./harness.mjs";

let browser;
before(async () => {
  browser = await launchChromium();
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

  const input = store.getByTestId("composer-input");
  const written = ["Hello", "My parcel is late", "Order 1042", "It was due Monday", "Can you check?"];
  for (const text of written) {
    await input.fill(text);
    await input.press("Enter");
  }
  // At most two a minute go through (four, if the minute turned meanwhile); the others wait,
  // marked, after them, in the order they were written.
  const waiting = store.locator("[data-testid=message][data-pending=true]");
  await waitForText(waiting.last().getByTestId("pending-state"), "Not sent yet: will retry");
  // Every send answered: none is on its way any more.
  await store.getByTestId("pending-state").filter({ hasText: "Sending" }).first().waitFor({ state: "detached" });
  const held = await waiting.count();
  assert.ok(held >= 1, "nothing was held back");
  for (let i = 0; i < held; i++) await waitForText(waiting.nth(i).getByTestId("pending-state"), "Not sent yet: will retry");
  assert.deepEqual(await messageTexts(store), written);
  assert.deepEqual(await waiting.locator("[data-testid=content]").allTextContents(), written.slice(written.length - held));
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

  const input = inbox.getByTestId("composer-input");
  const written = ["Hi!", "Let me look.", "Found it.", "It ships today.", "Anything else?"];
  for (const text of written) {
    await input.fill(text);
    await input.press("Enter");
  }
  const waiting = inbox.locator("[data-testid=message][data-pending=true]");
  await waitForText(waiting.last().locator(".pending-state"), "Waiting: a minute's messages were sent, the rest follow");
  await inbox.locator(".pending-state", { hasText: "Sending" }).first().waitFor({ state: "detached" });
  const held = await waiting.count();
  assert.ok(held >= 1, "nothing was held back");
  assert.deepEqual(await messageTexts(inbox), ["Hello?", ...written]);
  assert.deepEqual(await waiting.locator("[data-testid=content]").allTextContents(), written.slice(written.length - held));
  assert.equal(await inbox.getByTestId("alert").isVisible(), false, "a wait is no error");
});
