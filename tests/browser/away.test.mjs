// When nobody is there, in the browser: before its first message the widget greets the store
// and says what to expect, within business hours and out of them (the page's clock fixed at
// the moment the team's hours are judged by); out of hours the store's first message gets one
// automatic reply, marked as such; a store whose locale is German gets the widget, and the
// reply, in German; a right-to-left language lays the widget out from the left.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";

import { ROOT, launchChromium, startGateway, startShop, waitForText } from "./harness.mjs";

const SCREENSHOTS = `${resolve(ROOT, process.env.SCREENSHOTS ?? "target/screenshots")}/`;
const PLATFORM = { id: "AKIDAWAYPLATFORM", secret: "away-platform-secret" };
const ZONE = "Europe/Berlin";

const token = (who) => `${who}-token-for-the-away-test-0123456789abcdef`;
const SEED = {
  stores: [
    { id: 7, name: "Parcel Shop", logo_url: "", email: "shop@example.com", token: token("shop") },
    { id: 8, name: "Laden Berlin", logo_url: "", email: "laden@example.com", token: token("laden") },
  ],
  admins: [{ id: 1, name: "Sarah", email: "sarah@example.com", token: token("sarah") }],
};

let browser;
before(async () => {
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
});

/** One signed call of the platform API, as docs/examples/platform_call.py makes it. */
async function platform(gateway, method, path, body) {
  const dir = mkdtempSync(join(tmpdir(), "away-body-"));
  writeFileSync(join(dir, "body.json"), JSON.stringify(body));
  const env = { ...process.env, AWS_ACCESS_KEY_ID: PLATFORM.id, AWS_SECRET_ACCESS_KEY: PLATFORM.secret };
  const args = [join(ROOT, "docs/examples/platform_call.py"), gateway.api, method, path, join(dir, "body.json")];
  const { stdout } = await promisify(execFile)(join(ROOT, ".cache/venv/bin/python"), args, { env });
  return JSON.parse(stdout);
}

/** A day `days` from today in UTC, as hours take dates. */
const day = (days) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10);
const EVERY_DAY = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const week = (opens, closes) => Object.fromEntries(EVERY_DAY.map((d) => [d, [{ opens, closes }]]));

/** The store's page in a browser whose clock stands still at `now`, in Berlin. */
async function storePage(shop, now, width = 390) {
  const context = await browser.newContext({ viewport: { width, height: 760 }, timezoneId: ZONE, locale: "en-GB" });
  const page = await context.newPage();
  await page.clock.setFixedTime(now);
  await page.goto(shop.url);
  return { context, page };
}

test("the widget before and after the first message, in and out of hours, in English, German and Arabic layout", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "away-"));
  writeFileSync(join(dir, "seed.json"), JSON.stringify(SEED));
  const gateway = await startGateway(["--seed", join(dir, "seed.json"), "--platform-credentials", `${PLATFORM.id}:${PLATFORM.secret}`]);
  const shop = await startShop({ ...gateway, store_token: token("shop") });
  const laden = await startShop({ ...gateway, store_token: token("laden") });
  const arabic = await startShop({ ...gateway, store_token: token("shop") }, { lang: "ar" });
  t.after(async () => {
    await Promise.all([shop.stop(), laden.stop(), arabic.stop()]);
    await gateway.stop();
  });
  const now = new Date();

  // Within hours (every day, all day), nobody at an inbox: the team's own words on what to expect.
  await platform(gateway, "PUT", "/v1/platform/hours/", {
    hours: { time_zone: "UTC", week: week("00:00", "24:00"), expected_reply: "We usually reply within an hour." },
  });
  const within = await storePage(shop, now);
  t.after(() => within.context.close());
  await waitForText(within.page.getByTestId("empty").locator(".greeting"), "Hi! How can we help?");
  await waitForText(within.page.getByTestId("availability"), "We usually reply within an hour.");
  assert.equal(await within.page.getByTestId("availability").getAttribute("data-state"), "busy");
  await within.page.screenshot({ path: `${SCREENSHOTS}widget-within-hours.png` });
  await within.context.close();

  // Out of hours: today and tomorrow off, back the day after tomorrow at 9:00 UTC, which is
  // 10:00 in Berlin, where the store's clock is.
  await platform(gateway, "PUT", "/v1/platform/hours/", {
    hours: { time_zone: "UTC", week: week("09:00", "17:00"), holidays: [day(0), day(1)] },
  });
  const back = new Date(`${day(2)}T09:00:00Z`);
  const weekday = (lang) => back.toLocaleDateString(lang, { weekday: "long", timeZone: ZONE });
  const away = await storePage(shop, now);
  t.after(() => away.context.close());
  const said = away.page.getByTestId("availability");
  await said.filter({ hasText: "We're away until" }).waitFor();
  assert.equal(await said.getAttribute("data-state"), "away");
  const text = await said.textContent();
  assert.ok(text.includes(weekday("en")) && text.includes("10:00"), text);

  // The store writes: one automatic reply, marked as one, however often it writes.
  const input = away.page.getByTestId("composer-input");
  await input.fill("Where is my parcel?");
  await input.press("Enter");
  const automatic = away.page.locator("[data-testid=message].automatic");
  await waitForText(automatic.getByTestId("automatic"), "Automatic reply");
  assert.match(await automatic.getByTestId("content").textContent(), /^Thanks for your message! We're away until /);
  await input.fill("Hello?");
  await input.press("Enter");
  await away.page.locator("[data-testid=message]", { hasText: "Hello?" }).getByTestId("receipt").waitFor();
  assert.equal(await automatic.count(), 1);
  await away.page.screenshot({ path: `${SCREENSHOTS}widget-away-reply.png` });

  // A German store (its locale, as the platform gave it): the widget and the reply in German.
  await platform(gateway, "POST", "/v1/platform/stores/", { stores: [{ id: 8, name: "Laden Berlin", locale: "de-DE" }] });
  const german = await storePage(laden, now);
  t.after(() => german.context.close());
  await waitForText(german.page.getByTestId("empty").locator(".greeting"), "Hallo! Wie können wir helfen?");
  const gesagt = await german.page.getByTestId("availability").textContent();
  assert.ok(gesagt.startsWith("Wir sind bis") && gesagt.includes(weekday("de")) && gesagt.includes("10:00"), gesagt);
  assert.equal(await german.page.getByTestId("composer-input").getAttribute("placeholder"), "Nachricht schreiben …");
  await german.page.getByTestId("composer-input").fill("Wo ist mein Paket?");
  await german.page.getByTestId("composer-input").press("Enter");
  const antwort = german.page.locator("[data-testid=message].automatic");
  await waitForText(antwort.getByTestId("automatic"), "Automatische Antwort");
  assert.match(await antwort.getByTestId("content").textContent(), /^Danke für Ihre Nachricht! Wir sind bis /);
  await german.page.getByTestId("who").filter({ hasText: "Warten auf den Support" }).waitFor();
  await german.page.screenshot({ path: `${SCREENSHOTS}widget-away-de.png` });

  // Arabic (its words fall back to English): laid out right to left, from the left edge.
  const rtl = await storePage(arabic, now, 1024);
  t.after(() => rtl.context.close());
  const panel = rtl.page.getByTestId("panel");
  await panel.waitFor();
  assert.equal(await panel.getAttribute("dir"), "rtl");
  const box = await panel.boundingBox();
  assert.ok(box.x < 40, `the panel starts at ${box.x}`);
  await rtl.page.screenshot({ path: `${SCREENSHOTS}widget-rtl.png` });
});
