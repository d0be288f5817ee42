// The agent's desk in the browser: a private note written in one admin's tab appears in
// another's and never in the widget; `/` inserts a saved reply with the store's name filled
// in; edits and deletes show live on both sides, with what was said before for admins; the
// store's context beside the conversation; finding it by the store's name.

import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";

import { ROOT, launchChromium, startGateway, startShop, waitForText } from "./harness.mjs";

// As the other browser tests: `SCREENSHOTS=web/screenshots/ infra/test.sh` refreshes the docs'.
const SCREENSHOTS = `${resolve(ROOT, process.env.SCREENSHOTS ?? "target/screenshots")}/`;

const token = (who) => `${who}-token-for-the-desk-test-0123456789abcdef`;
const SEED = {
  stores: [{ id: 7, name: "Parcel Shop", logo_url: "", email: "orders@parcel.example", token: token("shop") }],
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
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const query = new URLSearchParams({ api: gateway.api, ws: gateway.ws, token: token(who), admin_id: String(id) });
  await page.goto(`${gateway.api}/inbox/?${query}`);
  await waitForText(page.getByTestId("connection-status"), "Connected");
  return { context, page };
}

const contents = (page) => page.locator("[data-testid=message] [data-testid=content]");

test("notes for the team only, saved replies, edits and deletes live, the store's context, finding it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "desk-"));
  writeFileSync(join(dir, "seed.json"), JSON.stringify(SEED));
  const gateway = await startGateway(["--seed", join(dir, "seed.json")]);
  const shop = await startShop({ ...gateway, store_token: token("shop") });
  t.after(async () => {
    await shop.stop();
    await gateway.stop();
  });
  const sarah = await inbox(gateway, "sarah", 1);
  const omar = await inbox(gateway, "omar", 2);
  const storeContext = await browser.newContext({ viewport: { width: 390, height: 760 } });
  t.after(() => Promise.all([sarah.context.close(), omar.context.close(), storeContext.close()]));
  const store = await storeContext.newPage();
  await store.goto(shop.url);
  await waitForText(store.getByTestId("connection-status"), "Connected");

  // The store writes, with a typo; both admins open the waiting conversation.
  const storeInput = store.getByTestId("composer-input");
  await storeInput.fill("Where is my parcl?");
  await storeInput.press("Enter");
  for (const admin of [sarah, omar]) {
    await admin.page.locator("[data-testid=session-item]", { hasText: "Where is my parcl?" }).click();
    await waitForText(contents(admin.page), "Where is my parcl?");
  }
  // The store's context beside it: its first conversation, no rating yet.
  const about = sarah.page.getByTestId("store-context");
  await waitForText(about.getByTestId("context-count"), "1");
  await about.getByText("orders@parcel.example").waitFor();

  // A note in Sarah's tab: hers shows it marked, Omar's gets it live, the store never does.
  await sarah.page.getByTestId("mode-note").check();
  await sarah.page.getByTestId("composer-input").fill("VIP customer: refund without asking for photos.");
  await sarah.page.getByTestId("composer-input").press("Enter");
  for (const admin of [sarah, omar]) {
    await waitForText(admin.page.getByTestId("note-content"), "VIP customer: refund without asking for photos.");
  }

  // Sarah saves a team reply, claims the conversation and inserts it with `/` and the keyboard.
  await sarah.page.getByTestId("manage-replies").click();
  await sarah.page.getByTestId("reply-shortcut").fill("sorry");
  await sarah.page.getByTestId("reply-content").fill("Sorry for the wait, {store_name}! {admin_name} here, looking into it.");
  await sarah.page.getByTestId("reply-scope").selectOption("team");
  await sarah.page.getByTestId("reply-save").click();
  await waitForText(sarah.page.locator("[data-testid=reply-list] .reply-shortcut"), "/sorry");
  await sarah.page.getByTestId("replies-dialog").getByRole("button", { name: "Done" }).click();
  // Claiming mid-note leaves the note a note.
  await sarah.page.getByTestId("composer-input").fill("Courier says it left on Tuesday.");
  await sarah.page.getByTestId("claim").click();
  await sarah.page.locator("[data-testid=mode-reply]:enabled").waitFor();
  assert.equal(await sarah.page.getByTestId("mode-note").isChecked(), true, "still a note");
  await sarah.page.getByTestId("composer-input").press("Enter");
  await waitForText(sarah.page.getByTestId("note-content").last(), "Courier says it left on Tuesday.");
  await sarah.page.locator("[data-testid=mode-reply]:enabled").check();
  const sarahInput = sarah.page.getByTestId("composer-input");
  await sarahInput.pressSequentially("/sor");
  await waitForText(sarah.page.getByTestId("reply-option"), "/sorryTeamSorry for the wait, {store_name}! {admin_name} here, looking into it.");
  await sarah.page.screenshot({ path: `${SCREENSHOTS}inbox-saved-reply.png` });
  await sarahInput.press("Enter");
  assert.equal(await sarahInput.inputValue(), "Sorry for the wait, Parcel Shop! Sarah here, looking into it.");
  await sarahInput.press("Enter");
  await waitForText(contents(store).last(), "Sorry for the wait, Parcel Shop! Sarah here, looking into it.");
  // She rewords the saved reply in its dialog; `/` then inserts the new words.
  await sarah.page.getByTestId("manage-replies").click();
  await sarah.page.getByTestId("reply-list").getByRole("button", { name: "Edit" }).click();
  assert.equal(await sarah.page.getByTestId("reply-shortcut").inputValue(), "sorry");
  await sarah.page.getByTestId("reply-content").fill("Thanks for waiting, {store_name}. {admin_name} is on it.");
  await sarah.page.getByTestId("reply-save").click();
  await waitForText(sarah.page.locator("[data-testid=reply-list] .reply-preview"), "Thanks for waiting, {store_name}. {admin_name} is on it.");
  assert.equal(await sarah.page.locator("[data-testid=reply-list] li").count(), 1, "edited, not added");
  await sarah.page.getByTestId("replies-dialog").getByRole("button", { name: "Done" }).click();
  await sarahInput.pressSequentially("/sor");
  await sarahInput.press("Enter");
  assert.equal(await sarahInput.inputValue(), "Thanks for waiting, Parcel Shop. Sarah is on it.");
  await sarahInput.fill("");

  // Sarah fixes her answer and withdraws a wrong one: the widget follows at once.
  await sarahInput.fill("Your parcel left our depot on Monday.");
  await sarahInput.press("Enter");
  await sarahInput.fill("Here is the refund form: https://wrong.example/form");
  await sarahInput.press("Enter");
  await waitForText(contents(store).last(), "Here is the refund form: https://wrong.example/form");
  const sarahsAnswer = sarah.page.locator("[data-testid=message]", { hasText: "left our depot on Monday" });
  await sarahsAnswer.getByTestId("edit").click();
  await sarah.page.getByTestId("edit-input").fill("Your parcel left our depot on Tuesday.");
  await sarah.page.getByTestId("edit-input").press("Enter");
  const wrong = sarah.page.locator("[data-testid=message]", { hasText: "wrong.example" });
  await wrong.getByTestId("delete").click();
  await wrong.getByTestId("confirm-delete").click();
  const storeAnswer = store.locator("[data-testid=message]", { hasText: "left our depot on Tuesday." });
  await storeAnswer.getByTestId("edited").waitFor();
  await waitForText(store.locator("[data-testid=message] .deleted"), "This message was deleted");
  assert.equal(await store.getByText("wrong.example").count(), 0, "the deleted text is gone from the widget");

  // The store fixes its own typo; Sarah sees the edit and, in its history, what it said.
  const storeQuestion = store.locator("[data-testid=message]", { hasText: "Where is my parcl?" });
  await storeQuestion.getByTestId("edit").click();
  await store.getByTestId("edit-input").fill("Where is my parcel?");
  await store.getByTestId("edit-input").press("Enter");
  const question = sarah.page.locator("[data-testid=message]", { hasText: "Where is my parcel?" });
  await question.getByTestId("edited").waitFor();
  await question.getByTestId("history").click();
  await waitForText(sarah.page.locator("[data-testid=history-entry] .history-before"), "Before: Where is my parcl?");
  await sarah.page.screenshot({ path: `${SCREENSHOTS}inbox-desk.png` });
  await sarah.page.getByTestId("history-dialog").getByRole("button", { name: "Close" }).click();
  await store.screenshot({ path: `${SCREENSHOTS}widget-edited.png` });

  // Whatever happened, the widget never showed the note.
  assert.equal(await store.getByText("VIP customer").count(), 0, "the store never sees a note");
  assert.equal(await store.getByText("refund without asking").count(), 0);
  assert.equal(await store.getByText("Courier says").count(), 0);

  // Finding the conversation again by the store's name.
  await sarah.page.getByTestId("search-q").fill("PARCEL");
  await sarah.page.getByTestId("search-submit").click();
  await waitForText(sarah.page.locator("#search-count"), "1 conversation matches");
  await sarah.page.locator("[data-testid=session-item]", { hasText: "Parcel Shop" }).waitFor();
  await sarah.page.getByTestId("search-clear").click();
  await sarah.page.getByTestId("search-summary").waitFor({ state: "hidden" });

  // Sarah closes it; the store comes back with another question. Beside the new one, the
  // store's context counts two conversations and opens the earlier one.
  await sarah.page.getByTestId("close").click();
  await sarah.page.getByTestId("confirm-close").click();
  await store.getByTestId("new-conversation").click();
  await storeInput.fill("And my second order?");
  await storeInput.press("Enter");
  await sarah.page.getByTestId("tab-open").click();
  await sarah.page.locator("[data-testid=session-item]", { hasText: "And my second order?" }).click();
  await waitForText(contents(sarah.page), "And my second order?");
  await waitForText(about.getByTestId("context-count"), "2");
  const earlier = about.getByTestId("context-session");
  assert.equal(await earlier.count(), 1, "the conversation open is not listed among the earlier ones");
  await sarah.page.screenshot({ path: `${SCREENSHOTS}inbox-store-context.png` });
  await earlier.getByTestId("context-open").click();
  await waitForText(contents(sarah.page).first(), "Where is my parcel?");
  await sarah.page.getByTestId("note-content").first().waitFor();
});

test("with no edit window, neither the widget nor the inbox offers Edit or Delete", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "desk-"));
  writeFileSync(join(dir, "seed.json"), JSON.stringify(SEED));
  const gateway = await startGateway(["--seed", join(dir, "seed.json"), "--edit-window-seconds", "0"]);
  const shop = await startShop({ ...gateway, store_token: token("shop") });
  t.after(async () => {
    await shop.stop();
    await gateway.stop();
  });
  const sarah = await inbox(gateway, "sarah", 1);
  const storeContext = await browser.newContext({ viewport: { width: 390, height: 760 } });
  t.after(() => Promise.all([sarah.context.close(), storeContext.close()]));
  const store = await storeContext.newPage();
  await store.goto(shop.url);
  await waitForText(store.getByTestId("connection-status"), "Connected");
  // Each client has read the window: the widget its availability, the inbox its team.
  await store.getByTestId("availability").waitFor();
  await sarah.page.getByTestId("team-member").first().waitFor();

  await store.getByTestId("composer-input").fill("Is this final?");
  await store.getByTestId("composer-input").press("Enter");
  const storeMessage = store.locator("[data-testid=message]", { hasText: "Is this final?" });
  await storeMessage.getByTestId("receipt").waitFor();
  assert.equal(await storeMessage.getByTestId("edit").count(), 0, "the widget offers no edit");
  assert.equal(await storeMessage.getByTestId("delete").count(), 0, "the widget offers no delete");
  await sarah.page.locator("[data-testid=session-item]", { hasText: "Is this final?" }).click();
  await sarah.page.getByTestId("claim").click();
  await sarah.page.locator("[data-testid=mode-reply]:enabled").check();
  await sarah.page.getByTestId("composer-input").fill("It is.");
  await sarah.page.getByTestId("composer-input").press("Enter");
  const answer = sarah.page.locator("[data-testid=message]", { hasText: "It is." });
  await waitForText(contents(store).last(), "It is.");
  assert.equal(await answer.getByTestId("edit").count(), 0, "the inbox offers no edit");
  assert.equal(await answer.getByTestId("delete").count(), 0, "the inbox offers no delete");
});
