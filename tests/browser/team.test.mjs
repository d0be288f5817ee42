// A support team in the browser: two admins and a store, with automatic assignment. The
// store waits and sees its place in line; the admin who becomes available is given the
// conversation and the store sees who joined; a transfer is made by choosing a colleague by
// name; the team's presence dots follow an admin who closes the inbox. Loading the widget
// queues nothing; reloading it after a close shows the closed conversation.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";

import { ROOT, launchChromium, startGateway, startShop, waitForText } from "./harness.mjs";

// As the other browser tests: `SCREENSHOTS=web/screenshots/ infra/test.sh` refreshes the docs'.
const SCREENSHOTS = `${resolve(ROOT, process.env.SCREENSHOTS ?? "target/screenshots")}/`;

const token = (who) => `${who}-token-for-the-team-test-0123456789abcdef`;
const SEED = {
  stores: [{ id: 7, name: "Parcel Shop", logo_url: "", email: "shop@example.com", token: token("shop") }],
  admins: [
    { id: 1, name: "Sarah", email: "sarah@example.com", token: token("sarah") },
    { id: 2, name: "Omar", email: "omar@example.com", token: token("omar") },
  ],
};

let browser;
before(async () => {
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
});

async function inbox(gateway, who, id) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  // The system's notifications, as the page asks for them (granted here).
  await context.grantPermissions(["notifications"]);
  await page.addInitScript(() => {
    window.notices = [];
    window.Notification = class {
      static permission = "granted";
      static requestPermission = async () => "granted";
      constructor(title, { body } = {}) { window.notices.push({ title, body }); }
    };
  });
  const query = new URLSearchParams({ api: gateway.api, ws: gateway.ws, token: token(who), admin_id: String(id) });
  await page.goto(`${gateway.api}/inbox/?${query}`);
  await waitForText(page.getByTestId("connection-status"), "Connected");
  return { context, page };
}

/** The ids of the sessions in the open queue, as an admin's list route gives them. */
async function openQueue(gateway) {
  const answer = await fetch(`${gateway.api}/v1/chat/admin/sessions/?status=open`, { headers: { Authorization: `Token ${token("omar")}` } });
  assert.equal(answer.status, 200);
  return (await answer.json()).sessions.map((session) => session.id);
}

const member = (page, id) => page.locator(`[data-testid=team-member][data-admin-id="${id}"]`);

test("a team: automatic assignment, who joined, transfer by name, presence", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "team-"));
  writeFileSync(join(dir, "seed.json"), JSON.stringify(SEED));
  const gateway = await startGateway([
    "--seed", join(dir, "seed.json"), "--assignment", "auto", "--presence-grace-seconds", "0",
  ]);
  const shop = await startShop({ ...gateway, store_token: token("shop") });
  t.after(async () => {
    await shop.stop();
    await gateway.stop();
  });
  const sarah = await inbox(gateway, "sarah", 1);
  const omar = await inbox(gateway, "omar", 2);
  t.after(() => Promise.all([sarah.context.close(), omar.context.close()]));

  // Both step away: the store that writes waits, and sees it is next.
  for (const admin of [sarah, omar]) await admin.page.getByTestId("availability").selectOption("away");
  await member(omar.page, 1).and(omar.page.locator('[data-presence="away"]')).waitFor();
  const storeContext = await browser.newContext({ viewport: { width: 390, height: 760 } });
  t.after(() => storeContext.close());
  const store = await storeContext.newPage();
  await store.goto(shop.url);
  await waitForText(store.getByTestId("connection-status"), "Connected");
  // A widget opened and connected is no conversation yet: the queue stays empty.
  assert.deepEqual(await openQueue(gateway), [], "loading the widget queued nothing");
  assert.equal(await sarah.page.locator("#count-open").textContent(), "0");
  await store.getByTestId("composer-input").fill("Where is parcel 7781?");
  await store.getByTestId("composer-input").press("Enter");
  await waitForText(store.getByTestId("who"), "Waiting for support: you're next in line");

  // Sarah becomes available from a tab in the background: the conversation is hers without a
  // claim, her tab's title counts it and the system notifies her; the store sees her join.
  await sarah.page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await sarah.page.getByTestId("availability").selectOption("available");
  await sarah.page.getByTestId("tab-mine").click();
  const item = sarah.page.locator("[data-testid=session-item]", { hasText: "Where is parcel 7781?" });
  await item.waitFor();
  await sarah.page.waitForFunction(() => document.title.startsWith("(1 new"));
  assert.deepEqual(await sarah.page.evaluate(() => window.notices), [{ title: "New conversation for you", body: "Parcel Shop" }]);
  // The list drawn again for the store's next message: the title still counts the new one.
  await store.getByTestId("composer-input").fill("Where is parcel 7781? It was due on Monday.");
  await store.getByTestId("composer-input").press("Enter");
  await sarah.page.waitForFunction(() => document.title === "(1 new · 2) Support inbox");
  await sarah.page.evaluate(() => {
    Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "visible" });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await sarah.page.waitForFunction(() => !document.title.includes("new"));
  await waitForText(store.getByTestId("note"), "Sarah joined the conversation");
  await waitForText(store.getByTestId("who"), "Sarah is helping you");
  await waitForText(member(omar.page, 1).locator(".team-state"), "Available · 1/5");

  // Sarah hands it to Omar by name: no id to type.
  await item.click();
  const transfer = sarah.page.getByTestId("transfer-input");
  const options = await transfer.locator("option").allTextContents();
  assert.ok(options.some((text) => text.startsWith("Omar")), `${options}`);
  await sarah.page.screenshot({ path: `${SCREENSHOTS}inbox-team.png` });
  await transfer.selectOption({ label: options.find((text) => text.startsWith("Omar")) });
  await sarah.page.getByTestId("transfer").click();
  await omar.page.getByTestId("tab-mine").click();
  await omar.page.locator("[data-testid=session-item]", { hasText: "Where is parcel 7781?" }).waitFor();
  await waitForText(store.getByTestId("note").last(), "Omar joined the conversation");

  // Closing asks first; a closed conversation takes no reply, only the team's notes.
  await omar.page.locator("[data-testid=session-item]", { hasText: "Where is parcel 7781?" }).click();
  await omar.page.getByTestId("close").click();
  await omar.page.getByTestId("cancel-close").click();
  assert.equal(await omar.page.getByTestId("composer-input").isVisible(), true, "kept open");
  await omar.page.getByTestId("close").click();
  await omar.page.getByTestId("confirm-close").click();
  await store.getByTestId("rating-form").waitFor({ state: "visible" });
  await omar.page.locator("[data-testid=mode-reply]:disabled").waitFor();
  assert.equal(await omar.page.getByTestId("mode-note").isChecked(), true, "only a note can be written");
  // The store reloads: its closed conversation and the rating it asks for are still there.
  await store.reload();
  await store.getByTestId("rating-form").waitFor({ state: "visible" });
  await store.locator("[data-testid=message]", { hasText: "It was due on Monday." }).waitFor();
  assert.deepEqual(await openQueue(gateway), [], "nothing queued by the reload");

  // Sarah closes her inbox: once the sweep runs, Omar's team list shows her offline.
  await member(omar.page, 1).and(omar.page.locator('[data-presence="available"]')).waitFor();
  await sarah.context.close();
  // Her $disconnect is done once the directory has her offline (no grace here).
  await omar.page.waitForFunction(async ({ api, token }) => {
    const answer = await fetch(`${api}/v1/chat/admin/directory/`, { headers: { Authorization: `Token ${token}` } });
    const { admins } = await answer.json();
    return admins.find((admin) => admin.admin_id === 1)?.presence === "offline";
  }, { api: gateway.api, token: token("omar") }, { polling: 100 });
  const sweep = await fetch(`${gateway.api}/2015-03-31/functions/AssignmentSweepFunction/invocations`, { method: "POST", body: "{}" });
  assert.equal(sweep.status, 200);
  await member(omar.page, 1).and(omar.page.locator('[data-presence="offline"]')).waitFor();
});
