// The store widget and the admin inbox in a real browser, against a local gateway: a store
// and an admin converse end to end, the store's network drops and comes back, several
// inbox tabs stay in step, axe-core finds nothing serious, the store's whole flow works
// with the keyboard, and the widget's script stays small.

import assert from "node:assert/strict";
import { readFileSync, mkdirSync } from "node:fs";
import { after, before, test } from "node:test";
import { resolve } from "node:path";
import { gzipSync } from "node:zlib";

import { PNG, ROOT, call, launchChromium, messageTexts, startGateway, startShop, waitForText } from "./harness.mjs";

const PHONE = { width: 390, height: 760 };
const DESKTOP = { width: 1280, height: 800 };
// Kept out of the tree unless asked for: `SCREENSHOTS=web/screenshots/ infra/test.sh`
// refreshes the ones README.md and docs/clients.md show.
const SCREENSHOTS = `${resolve(ROOT, process.env.SCREENSHOTS ?? "target/screenshots")}/`;

let browser;
before(async () => {
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
});

/** A gateway, a shop embedding the widget, and an inbox, for one test. */
async function scene(t, { open = true } = {}) {
  const gateway = await startGateway();
  const shop = await startShop(gateway, { open });
  t.after(async () => {
    await shop.stop();
    await gateway.stop();
  });
  const adminContext = await browser.newContext({ viewport: DESKTOP });
  const storeContext = await browser.newContext({ viewport: PHONE });
  t.after(() => Promise.all([adminContext.close(), storeContext.close()]));
  return { gateway, shop, adminContext, storeContext };
}

async function openInbox(context, gateway) {
  const inbox = await context.newPage();
  await inbox.goto(`${gateway.api}/inbox/`);
  await waitForText(inbox.getByTestId("connection-status"), "Connected");
  return inbox;
}

async function openShop(context, shop) {
  const store = await context.newPage();
  await store.goto(shop.url);
  return store;
}

test("a store and an admin converse, through a dropped connection, to a rating", async (t) => {
  const { gateway, shop, adminContext, storeContext } = await scene(t);
  const inbox = await openInbox(adminContext, gateway);
  const store = await openShop(storeContext, shop);
  await waitForText(store.getByTestId("connection-status"), "Connected");
  // Loading the widget opens nothing: the queue stays empty until the store writes.
  // It greets the store and, with an admin's inbox open and no hours set, says a reply comes soon.
  await waitForText(store.getByTestId("empty").locator(".greeting"), "Hi! How can we help?");
  await waitForText(store.getByTestId("availability"), "We usually reply in a few minutes.");
  const queue = await call(gateway, gateway.admin_token, "GET", "/v1/chat/admin/sessions/?status=open");
  assert.equal(queue.total_count, 0, "loading the widget put a session in the queue");

  // The store writes: its session joins the queue, and the store sees it waits first in line.
  const storeInput = store.getByTestId("composer-input");
  await storeInput.fill("My order arrived broken");
  await storeInput.press("Enter");
  await waitForText(store.getByTestId("who"), "Waiting for support: you're next in line");
  const item = inbox.locator("[data-testid=session-item]").first();
  await item.waitFor();
  const sessionId = await item.getAttribute("data-session-id");
  await item.click();
  await waitForText(inbox.locator("[data-testid=message] [data-testid=content]"), "My order arrived broken");

  // The admin claims it: the store sees who joined.
  await inbox.getByTestId("claim").click();
  await inbox.locator("[data-testid=mode-reply]:checked:enabled").waitFor();
  await waitForText(store.getByTestId("note"), "Demo Admin joined the conversation");
  await waitForText(store.getByTestId("who"), "Demo Admin is helping you");
  await waitForText(store.locator("[data-sender=store] [data-testid=receipt]"), "Read");

  // The store writes again; the admin sees it typing, then the message.
  await storeInput.pressSequentially("The box was crushed");
  await inbox.getByTestId("typing").waitFor({ state: "visible" });
  await storeInput.press("Enter");
  await waitForText(inbox.locator("[data-testid=message] [data-testid=content]"), "The box was crushed");
  assert.equal(await store.getByTestId("alert").isVisible(), false, "nothing went wrong on the way");

  // The admin answers; the store sees it typing, then the answer, and the admin sees it read.
  const adminInput = inbox.getByTestId("composer-input");
  await adminInput.pressSequentially("Sorry to hear that! Could you send a photo?");
  await store.getByTestId("typing").waitFor({ state: "visible" });
  await adminInput.press("Enter");
  await waitForText(store.locator("[data-testid=message] [data-testid=content]"), "Sorry to hear that! Could you send a photo?");
  await waitForText(inbox.locator("[data-sender=admin] [data-testid=receipt]"), "Read");

  // A photo, uploaded straight to the bucket from the shop's origin and shown to the admin.
  await store.getByTestId("attach").setInputFiles({ name: "broken.png", mimeType: "image/png", buffer: PNG });
  await storeInput.fill("Here it is");
  await storeInput.press("Enter");
  const picture = inbox.locator("[data-testid=message]", { hasText: "Here it is" }).locator("img");
  await picture.waitFor();
  const download = await fetch(await picture.getAttribute("src"));
  assert.equal(download.status, 200);
  assert.deepEqual(Buffer.from(await download.arrayBuffer()), PNG, "the same bytes");

  await store.screenshot({ path: `${SCREENSHOTS}widget-light.png` });
  await inbox.screenshot({ path: `${SCREENSHOTS}inbox-light.png` });
  await store.emulateMedia({ colorScheme: "dark" });
  await inbox.emulateMedia({ colorScheme: "dark" });
  await store.screenshot({ path: `${SCREENSHOTS}widget-dark.png` });
  await inbox.screenshot({ path: `${SCREENSHOTS}inbox-dark.png` });

  // The store's network drops: it says so, keeps what it sends, and misses nothing.
  await storeContext.setOffline(true);
  await store.getByTestId("reconnecting").waitFor({ state: "visible" });
  await adminInput.fill("Are you still there?");
  await adminInput.press("Enter");
  await waitForText(inbox.locator("[data-testid=message] [data-testid=content]"), "Are you still there?");
  await storeInput.fill("Yes, still here");
  await storeInput.press("Enter");
  await waitForText(store.getByTestId("pending-state"), "Not sent yet: will retry");
  await storeContext.setOffline(false);
  await waitForText(store.getByTestId("connection-status"), "Connected");
  await waitForText(store.locator("[data-testid=message] [data-testid=content]"), "Are you still there?");
  await waitForText(inbox.locator("[data-testid=message] [data-testid=content]"), "Yes, still here");
  await store.locator("[data-pending]").waitFor({ state: "detached" });
  const conversation = [
    "My order arrived broken",
    "The box was crushed",
    "Sorry to hear that! Could you send a photo?",
    "Here it is",
    "Are you still there?",
    "Yes, still here",
  ];
  assert.deepEqual(await messageTexts(store), conversation, "the store's view: nothing lost or doubled");
  // The admin's bubbles fit their text, as the store's own do.
  const short = await store.locator("[data-sender=admin]", { hasText: "Are you still there?" }).locator(".bubble").boundingBox();
  const log = await store.getByTestId("messages").boundingBox();
  assert.ok(short.width < log.width / 2, `a short answer's bubble is ${short.width}px of ${log.width}px`);
  assert.deepEqual(await messageTexts(inbox), conversation, "the admin's view: nothing lost or doubled");
  const stored = await call(gateway, gateway.admin_token, "GET", `/v1/chat/admin/messages/?session_id=${sessionId}`);
  assert.deepEqual(stored.messages.map((m) => m.content), conversation, "what is stored");

  // The admin closes (and confirms); the store rates; the admin sees the rating.
  await inbox.getByTestId("close").click();
  await inbox.getByTestId("confirm-close").click();
  await store.getByTestId("rating-form").waitFor({ state: "visible" });
  await store.getByTestId("rating-5").check();
  await store.getByTestId("feedback").fill("Quick and kind");
  await store.getByTestId("rate").click();
  await store.getByTestId("thanks").waitFor({ state: "visible" });
  await inbox.getByTestId("rating").filter({ hasText: "Store's rating: 5/5" }).filter({ hasText: "Quick and kind" }).waitFor();

  // Reloaded, the widget still shows the closed conversation and the rating given, and
  // opens nothing; a new conversation starts only when the store writes.
  await store.reload();
  await waitForText(store.getByTestId("connection-status"), "Connected");
  await waitForText(store.getByTestId("thanks"), "You rated this conversation 5 out of 5. Thank you!");
  assert.deepEqual(await messageTexts(store), conversation, "the closed conversation's history");
  assert.equal(await store.getByTestId("composer-input").isVisible(), false, "a closed conversation takes no message");
  await store.getByTestId("new-conversation").click();
  assert.deepEqual(await messageTexts(store), [], "a new conversation starts empty");
  const afterReload = await call(gateway, gateway.admin_token, "GET", "/v1/chat/admin/sessions/?status=open");
  assert.equal(afterReload.total_count, 0, "reloading or starting over put a session in the queue");
  await storeInput.fill("One more question");
  await storeInput.press("Enter");
  await inbox.getByTestId("tab-open").click();
  await inbox.locator("[data-testid=session-item]", { hasText: "One more question" }).waitFor();
});

test("a send whose answer was lost is sent again and stored once", async (t) => {
  const { gateway, shop, storeContext } = await scene(t);
  const store = await openShop(storeContext, shop);
  await waitForText(store.getByTestId("connection-status"), "Connected");
  // The first send reaches the API and is stored, but its answer never reaches the page.
  let lost = 0;
  await store.route(`${gateway.api}/v1/chat/store/messages/`, async (route) => {
    if (route.request().method() !== "POST" || lost++ > 0) return route.fallback();
    await route.fetch();
    await route.abort("connectionreset");
  });
  await store.getByTestId("composer-input").fill("Is my refund on its way?");
  await store.getByTestId("composer-input").press("Enter");
  await store.locator("[data-pending]").waitFor({ state: "detached" });
  await waitForText(store.locator("[data-testid=message] [data-testid=content]"), "Is my refund on its way?");
  assert.equal(lost, 2, "sent, then sent again");
  assert.deepEqual(await messageTexts(store), ["Is my refund on its way?"]);
  const session = await call(gateway, gateway.store_token, "GET", "/v1/chat/store/session/");
  assert.deepEqual(session.messages.map((m) => m.content), ["Is my refund on its way?"], "stored once");
});

test("several tabs of one admin stay in step", async (t) => {
  const { gateway, adminContext } = await scene(t, { open: false });
  const first = await openInbox(adminContext, gateway);
  const second = await openInbox(adminContext, gateway);
  await call(gateway, gateway.store_token, "POST", "/v1/chat/store/messages/", { content: "Where is my parcel?" });
  for (const tab of [first, second]) {
    const item = tab.locator("[data-testid=session-item]", { hasText: "Where is my parcel?" });
    await waitForText(item.getByTestId("unread"), "1");
  }
  const session = await second.locator("[data-testid=session-item]").first().getAttribute("data-session-id");
  await first.locator(`[data-testid=session-item][data-session-id="${session}"]`).click();
  await first.getByTestId("claim").click();

  // The claim takes it out of the queue in the other tab too, and into the admin's own.
  await second.locator(`[data-testid=session-item][data-session-id="${session}"]`).waitFor({ state: "detached" });
  await second.getByTestId("tab-mine").click();
  const mine = second.locator(`[data-testid=session-item][data-session-id="${session}"]`);
  await mine.click();
  await first.getByTestId("composer-input").fill("On its way, arriving tomorrow");
  await first.getByTestId("send").click();
  await waitForText(second.locator("[data-testid=message] [data-testid=content]"), "On its way, arriving tomorrow");
  assert.deepEqual(await messageTexts(second), ["Where is my parcel?", "On its way, arriving tomorrow"]);

  // Tags set in one tab show in the other; handed back to the queue, it leaves both tabs' own.
  await first.getByTestId("tags-input").fill("parcel, vip");
  await first.getByTestId("tags-save").click();
  await second.locator(`[data-testid=session-item][data-session-id="${session}"]`, { hasText: "vip" }).waitFor();
  await first.getByTestId("transfer-input").selectOption("");
  await first.getByTestId("transfer").click();
  await mine.waitFor({ state: "detached" });
  await second.getByTestId("tab-open").click();
  await second.locator(`[data-testid=session-item][data-session-id="${session}"]`).waitFor();
});

test("the widget loads older messages as the store scrolls up", async (t) => {
  const { gateway, shop, storeContext } = await scene(t, { open: false });
  const sent = [];
  for (let n = 1; n <= 230; n++) {
    await call(gateway, gateway.store_token, "POST", "/v1/chat/store/messages/", { content: `Line ${n}` });
    sent.push(`Line ${n}`);
  }
  const store = await openShop(storeContext, shop);
  await store.getByTestId("launcher").click();
  await waitForText(store.getByTestId("connection-status"), "Connected");
  await waitForText(store.locator("[data-testid=message] [data-testid=content]").last(), "Line 230");
  assert.equal((await messageTexts(store)).length, 200, "the newest 200 first");
  const log = store.getByTestId("messages");
  for (let shown = 200; shown < sent.length; shown = (await messageTexts(store)).length) {
    await log.evaluate((node) => node.scrollTo(0, 0));
    await store.waitForFunction(
      (before) => document.querySelector("support-chat").shadowRoot.querySelectorAll("[data-testid=message]").length > before,
      shown,
    );
  }
  assert.deepEqual(await messageTexts(store), sent, "every message once, in order");
});

test("the gateway's front page leads to the widget and the inbox, signed in as the demo identities", async (t) => {
  const { gateway, storeContext, adminContext } = await scene(t, { open: false });
  const front = await storeContext.newPage();
  await front.goto(`${gateway.api}/`);
  await front.getByRole("link", { name: /store's chat widget/ }).click();
  await waitForText(front.getByTestId("connection-status"), "Connected");
  await front.getByTestId("composer-input").fill("Hello from the demo store");
  await front.getByTestId("composer-input").press("Enter");
  const inbox = await adminContext.newPage();
  await inbox.goto(`${gateway.api}/`);
  await inbox.getByRole("link", { name: /admin inbox/ }).click();
  await inbox.locator("[data-testid=session-item]", { hasText: "Hello from the demo store" }).waitFor();

  // The tokens are for these pages: another site may not read them, but may embed the widget.
  const config = await fetch(`${gateway.api}/config.json`, { headers: { Origin: "https://elsewhere.example" } });
  assert.equal(config.headers.get("access-control-allow-origin"), null);
  const widget = await fetch(`${gateway.api}/widget/support-chat.js`, { headers: { Origin: "https://elsewhere.example" } });
  assert.equal(widget.headers.get("access-control-allow-origin"), "*");
});

test("axe-core finds no serious or critical violation in the widget or the inbox, light or dark", async (t) => {
  const { gateway, shop, adminContext, storeContext } = await scene(t);
  const store = await openShop(storeContext, shop);
  await waitForText(store.getByTestId("connection-status"), "Connected");
  const asked = await call(gateway, gateway.store_token, "POST", "/v1/chat/store/messages/", { content: "Is this in stock?" });
  const inbox = await openInbox(adminContext, gateway);
  await inbox.locator("[data-testid=session-item]").first().click();
  await inbox.getByTestId("claim").click();
  await inbox.locator("[data-testid=mode-reply]:checked:enabled").waitFor();
  await inbox.getByTestId("composer-input").fill("Yes, ships today");
  await inbox.getByTestId("send").click();
  await waitForText(store.locator("[data-testid=message] [data-testid=content]"), "Yes, ships today");
  // The team's side too: a note, the store's context, an edited message.
  await call(gateway, gateway.admin_token, "POST", "/v1/chat/admin/notes/", { session_id: asked.session_id, content: "Stock is in the north warehouse" });
  await inbox.getByTestId("note").waitFor();
  await inbox.getByTestId("store-context").getByTestId("context-count").waitFor();
  await call(gateway, gateway.store_token, "POST", "/v1/chat/store/messages/edit/", { session_id: asked.session_id, message_id: asked.id, content: "Is this in stock in blue?" });
  await inbox.getByTestId("edited").waitFor();
  const axe = readFileSync(`${ROOT}tests/browser/node_modules/axe-core/axe.min.js`, "utf8");
  for (const scheme of ["light", "dark"]) {
    for (const [name, page] of [["widget", store], ["inbox", inbox]]) {
      await page.emulateMedia({ colorScheme: scheme });
      await page.addScriptTag({ content: axe });
      const results = await page.evaluate(() => window.axe.run());
      const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      const report = serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
      assert.deepEqual(report, [], `${name}, ${scheme}`);
    }
  }
});

test("the store's whole flow works with the keyboard alone", async (t) => {
  const { gateway, shop, storeContext } = await scene(t, { open: false });
  const store = await openShop(storeContext, shop);
  const focused = () => store.evaluate(() => document.activeElement?.shadowRoot?.activeElement?.dataset.testid);
  const tabUntil = async (testid) => {
    for (let presses = 0; presses < 30 && (await focused()) !== testid; presses++) await store.keyboard.press("Tab");
    assert.equal(await focused(), testid);
  };

  await tabUntil("launcher");
  await store.keyboard.press("Enter");
  await waitForText(store.getByTestId("connection-status"), "Connected");
  assert.equal(await focused(), "composer-input", "opening the chat puts the cursor in the message box");
  await store.keyboard.type("Do you ship to Norway?");
  await store.keyboard.press("Enter");
  await waitForText(store.locator("[data-testid=message] [data-testid=content]"), "Do you ship to Norway?");

  // A file: the attach control is reached with the keyboard. The file dialog it opens is the
  // browser's own, so the file is given to the control as that dialog would (Chromium's
  // headless file-chooser event is not reliably raised for a key press).
  await tabUntil("attach");
  const file = { name: "address.txt", mimeType: "text/plain", buffer: Buffer.from("Storgata 1, Oslo") };
  await store.getByTestId("attach").setInputFiles(file);
  await store.getByTestId("attachment-chosen").waitFor({ state: "visible" });
  await tabUntil("composer-input");
  await store.keyboard.type("My address");
  await store.keyboard.press("Enter");
  await store.locator("[data-testid=message]", { hasText: "My address" }).getByTestId("attachment").waitFor();

  // Closed by the admin: the rating takes the focus, and is given with the keyboard.
  const session = await call(gateway, gateway.store_token, "GET", "/v1/chat/store/session/");
  await call(gateway, gateway.admin_token, "POST", "/v1/chat/admin/session/claim/", { session_id: session.id });
  await call(gateway, gateway.admin_token, "POST", "/v1/chat/admin/session/close/", { session_id: session.id });
  await store.getByTestId("rating-form").waitFor({ state: "visible" });
  assert.equal(await focused(), "rating-1");
  for (let n = 1; n < 4; n++) await store.keyboard.press("ArrowRight");
  assert.equal(await focused(), "rating-4");
  await tabUntil("feedback");
  await store.keyboard.type("Helpful");
  await tabUntil("rate");
  await store.keyboard.press("Enter");
  await store.getByTestId("thanks").waitFor({ state: "visible" });
  const rated = await call(gateway, gateway.admin_token, "GET", "/v1/chat/admin/sessions/?status=closed");
  assert.equal(rated.sessions[0].rating, 4);
  assert.equal(rated.sessions[0].feedback, "Helpful");
});

test("the widget's script is at most 30 KB gzipped", () => {
  const script = readFileSync(`${ROOT}web/widget/support-chat.js`);
  const gzipped = gzipSync(script, { level: 9 }).length;
  console.log(`support-chat.js: ${script.length} bytes, ${gzipped} bytes gzipped`);
  assert.ok(gzipped <= 30 * 1024, `${gzipped} bytes gzipped`);
});
