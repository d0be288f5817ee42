// The team's reports: five hundred conversations of sixty stores and three admins, run through
// the HTTP routes in a seeded random order, are what the reports route counts, and what the
// inbox's reports page shows: its headline figures, its periods and its admins, one admin
// alone, by week, and as CSV; a report that fails leaves nothing of the last one to export;
// axe-core finds nothing serious in it, light or dark.

import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as pause } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";

import { ROOT, call, launchChromium, startGateway, waitForText, writeSeed } from "./harness.mjs";

// As the other browser tests: `SCREENSHOTS=web/screenshots/ infra/test.sh` refreshes the docs'.
const SCREENSHOTS = `${resolve(ROOT, process.env.SCREENSHOTS ?? "target/screenshots")}/`;

const CONVERSATIONS = 500;
const AT_ONCE = 16;
const COLUMNS = [
  "opened", "assigned", "closed", "messages_from_stores", "messages_from_team",
  "first_response_count", "first_response_median_seconds", "first_response_p90_seconds",
  "resolution_count", "resolution_median_seconds", "resolution_p90_seconds",
  "ratings_count", "ratings_average", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5",
];

let browser;
before(async () => {
  browser = await launchChromium();
  mkdirSync(SCREENSHOTS, { recursive: true });
});
after(async () => {
  await browser?.close();
});

/** mulberry32: the same numbers on every run. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * What becomes of each conversation, drawn before any runs, so that the order they run in
 * changes nothing. A store holds one conversation at a time: only its last may stay waiting
 * or held; the others are closed, by the holder or by the store, some before anyone took
 * them. Some closed ones are rated.
 */
function plan(rand, stores, admins) {
  const pick = (list) => list[Math.floor(rand() * list.length)];
  return Array.from({ length: CONVERSATIONS }, (_, n) => {
    const last = n + stores.length >= CONVERSATIONS;
    const roll = rand();
    const fate = last && roll < 0.25 ? "waiting" : last && roll < 0.35 ? "held" : roll > 0.92 ? "abandoned" : "handled";
    const first = pick(admins);
    const second = rand() < 0.2 ? pick(admins.filter((admin) => admin !== first)) : null;
    const rating = rand() < 0.6 ? pick([1, 2, 3, 4, 4, 5, 5, 5]) : null;
    return {
      n,
      store: stores[n % stores.length],
      fate,
      admins: fate === "handled" || fate === "held" ? [first, second].filter(Boolean) : [],
      answers: 1 + Math.floor(rand() * 3),
      followUps: Math.floor(rand() * 3), // the store's messages after its first
      closedBy: rand() < 0.75 ? "admin" : "store",
      rating: fate === "handled" || fate === "abandoned" ? rating : null,
    };
  });
}

/** One conversation as `c` says, through the public routes. */
async function converse(gateway, c) {
  const as = (who) => (path, body) => call(gateway, who.token, "POST", path, body);
  const store = as(c.store);
  const { session_id: session } = await store("/v1/chat/store/messages/", { content: `Question ${c.n}: where is my order?` });
  const followUps = async () => {
    for (let i = 1; i <= c.followUps; i++) await store("/v1/chat/store/messages/", { content: `About question ${c.n}, again (${i})` });
  };
  if (c.fate === "waiting" || c.fate === "abandoned") {
    await followUps();
    if (c.fate === "waiting") return;
    await store("/v1/chat/store/session/close/", {});
  } else {
    const [first, second] = c.admins;
    await as(first)("/v1/chat/admin/session/claim/", { session_id: session });
    for (let i = 1; i <= c.answers; i++) {
      await as(first)("/v1/chat/admin/messages/", { session_id: session, content: `Answer ${i} to question ${c.n}` });
      if (i === 1) await followUps();
    }
    if (second) {
      await as(first)("/v1/chat/admin/session/transfer/", { session_id: session, admin_id: second.id });
      await as(second)("/v1/chat/admin/messages/", { session_id: session, content: `Taking over question ${c.n}` });
    }
    if (c.fate === "held") return;
    if (c.closedBy === "store") await store("/v1/chat/store/session/close/", {});
    else await as(second ?? first)("/v1/chat/admin/session/close/", { session_id: session });
  }
  if (c.rating) await store("/v1/chat/store/session/rating/", { session_id: session, rating: c.rating });
}

/** Runs `jobs` with at most `limit` at once. */
async function atMost(limit, jobs) {
  const queue = [...jobs];
  await Promise.all(Array.from({ length: limit }, async () => {
    while (queue.length) await queue.shift()();
  }));
}

/** What the run adds up to: for the team, and for each admin who did anything. */
function tally(conversations, admins) {
  const team = {
    opened: 0, assigned: 0, closed: 0, messages_from_stores: 0, messages_from_team: 0,
    first_responses: 0, resolutions: 0, stars: [0, 0, 0, 0, 0], waiting: 0,
  };
  const per = new Map(admins.map((a) => [a.id, { admin_id: a.id, assigned: 0, closed: 0, messages_from_team: 0, first_responses: 0, ratings: 0 }]));
  for (const c of conversations) {
    const [first, second] = c.admins;
    const holder = second ?? first;
    const closed = c.fate === "handled" || c.fate === "abandoned";
    team.opened += 1;
    team.messages_from_stores += 1 + c.followUps;
    team.waiting += c.fate === "waiting" ? 1 : 0;
    team.closed += closed ? 1 : 0;
    team.resolutions += closed ? 1 : 0;
    if (first) {
      team.assigned += 1;
      team.first_responses += 1;
      team.messages_from_team += c.answers + (second ? 1 : 0);
      per.get(first.id).assigned += 1;
      per.get(first.id).first_responses += 1;
      per.get(first.id).messages_from_team += c.answers;
      if (second) per.get(second.id).messages_from_team += 1;
      if (c.fate === "handled") per.get(holder.id).closed += 1;
    }
    if (c.rating) {
      team.stars[c.rating - 1] += 1;
      if (first) per.get(holder.id).ratings += 1;
    }
  }
  const busy = [...per.values()].filter(({ admin_id, ...figures }) => Object.values(figures).some((v) => v > 0));
  return { team, admins: busy };
}

const teamFigures = (report) => {
  const t = report.totals;
  return {
    opened: t.opened, assigned: t.assigned, closed: t.closed, messages_from_stores: t.messages_from_stores,
    messages_from_team: t.messages_from_team, first_responses: t.first_response.count, resolutions: t.resolution.count,
    stars: t.ratings.by_star, waiting: report.waiting_now,
  };
};

const adminFigures = (report) => report.admins.map((a) => ({
  admin_id: a.admin_id, assigned: a.assigned, closed: a.closed, messages_from_team: a.messages_from_team,
  first_responses: a.first_response.count, ratings: a.ratings.count,
}));

/** Reads `read()` until it answers `expected` or `seconds` pass, then compares, so that a
 * difference is shown whole. */
async function settles(read, expected, what, seconds = 10) {
  const deadline = Date.now() + seconds * 1000;
  let seen = await read();
  while (!isDeepStrictEqual(seen, expected) && Date.now() < deadline) {
    await pause(100);
    seen = await read();
  }
  assert.deepEqual(seen, expected, what);
}

const reportOf = (gateway, admin, query = {}) => call(gateway, admin.token, "GET", `/v1/chat/admin/reports/?${new URLSearchParams(query)}`);

const text = (value) => (value == null ? "" : String(value));

const HEADLINES = {
  "report-opened": (r) => r.totals.opened,
  "report-closed": (r) => r.totals.closed,
  "report-waiting": (r) => r.waiting_now,
  "report-frt-median": (r) => r.totals.first_response.median_seconds,
  "report-frt-p90": (r) => r.totals.first_response.p90_seconds,
  "report-resolution-median": (r) => r.totals.resolution.median_seconds,
  "report-csat-average": (r) => r.totals.ratings.average,
  "report-csat-count": (r) => r.totals.ratings.count,
};

const headlinesOf = (report) => Object.fromEntries(Object.entries(HEADLINES).map(([testid, of]) => [testid, text(of(report))]));

/** The raw values beside the page's headline figures. */
function headlines(page) {
  return page.evaluate((testids) => Object.fromEntries(testids.map((testid) =>
    [testid, document.querySelector(`[data-testid="${testid}"]`)?.dataset.value ?? null])), Object.keys(HEADLINES));
}

/** The rows of the page's table `testid`: the attribute `key`, the row's header and the cells' raw values. */
function rows(page, testid, key = null) {
  return page.getByTestId(testid).locator("tbody tr").evaluateAll((trs, key) => trs.map((tr) => ({
    key: key && tr.getAttribute(key), header: tr.querySelector("th").textContent, values: [...tr.querySelectorAll("td")].map((td) => td.dataset.value),
  })), key);
}

const periodRows = async (page) => (await rows(page, "report-table-conversations", "data-start")).map(({ key, values }) => ({ key, values }));
// One admin opens nothing (opening is the team's): theirs are the conversations they picked up.
const periodsOf = (report) => report.series.map((p) => ({
  key: p.start, values: [text(report.admin_id == null ? p.opened : p.assigned), text(p.closed)],
}));
const columns = (page, testid) => page.getByTestId(testid).locator("thead th").allTextContents();
const adminRowsOf = (report, names) => report.admins.map((a) => ({
  key: String(a.admin_id),
  header: names.get(a.admin_id),
  values: [a.assigned, a.closed, a.first_response.median_seconds, a.ratings.average, a.ratings.count].map(text),
}));

// Opening and the stores' messages are the team's: an admin's row leaves them empty.
const csvFigures = (f, ofAdmin) => [
  ofAdmin ? null : f.opened, f.assigned, f.closed, ofAdmin ? null : f.messages_from_stores, f.messages_from_team,
  f.first_response.count, f.first_response.median_seconds, f.first_response.p90_seconds,
  f.resolution.count, f.resolution.median_seconds, f.resolution.p90_seconds,
  f.ratings.count, f.ratings.average, ...f.ratings.by_star,
].map(text);

test("the reports page shows what the reports route counts of a busy team", async (t) => {
  const seed = writeSeed("reports", { stores: 60, admins: ["Sarah", "Omar", "Priya"] });
  // No away reply while the last conversations wait: the team's messages are the admins' own.
  const gateway = await startGateway(["--seed", seed.path, "--away-reply-after-seconds", "86400"]);
  t.after(() => gateway.stop());
  const [sarah, omar] = seed.admins;
  const names = new Map(seed.admins.map((admin) => [admin.id, admin.name]));

  // The run: each store's conversations one after another, sixteen stores at a time.
  const conversations = plan(random(20261204), seed.stores, seed.admins);
  await atMost(AT_ONCE, seed.stores.map((store) => async () => {
    for (const c of conversations.filter((c) => c.store === store)) await converse(gateway, c);
  }));
  const expected = tally(conversations, seed.admins);
  assert.ok(expected.team.waiting > 0, "some are left waiting");

  // The figures follow the table's stream: counted once it has been read.
  const teamNow = async () => teamFigures(await reportOf(gateway, sarah));
  await settles(teamNow, expected.team, "the team's figures count the run", 60);
  const whole = await reportOf(gateway, sarah);
  assert.deepEqual(adminFigures(whole), expected.admins, "each admin's figures");
  assert.equal(whole.series.length, 30, "the last 30 days, every day present");

  // The inbox's reports, from the top bar: the same figures, periods and admins.
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  t.after(() => context.close());
  const page = await context.newPage();
  const query = new URLSearchParams({ api: gateway.api, ws: gateway.ws, token: sarah.token, admin_id: String(sarah.id) });
  await page.goto(`${gateway.api}/inbox/?${query}`);
  await waitForText(page.getByTestId("connection-status"), "Connected");
  await page.getByTestId("open-reports").click();
  await page.getByTestId("reports").waitFor();
  assert.equal(new URL(page.url()).hash, "#reports");
  await settles(() => headlines(page), headlinesOf(whole), "the headline figures");
  assert.equal(await page.getByTestId("report-from").inputValue(), whole.from);
  assert.equal(await page.getByTestId("report-to").inputValue(), whole.to);
  await settles(() => periodRows(page), periodsOf(whole), "a row a day");
  await settles(() => rows(page, "report-admins", "data-admin-id"), adminRowsOf(whole, names), "a row an admin, by name");
  const stars = await rows(page, "report-table-csat");
  assert.deepEqual(stars.map((row) => row.values[0]), whole.totals.ratings.by_star.map(text));
  const closes = await rows(page, "report-table-resolution");
  assert.deepEqual(closes.map((row) => row.values[0]), whole.totals.resolution.histogram.map(text));
  const waits = await rows(page, "report-table-first-response");
  assert.deepEqual(waits.map((row) => row.values[0]), whole.series.map((p) => text(p.first_response.count)));

  // One admin, chosen by name: the page follows.
  const range = { from: whole.from, to: whole.to };
  const omars = await reportOf(gateway, sarah, { ...range, granularity: "day", admin_id: omar.id });
  await page.getByTestId("report-admin").selectOption({ label: "Omar" });
  await settles(() => headlines(page), headlinesOf(omars), "Omar's figures");
  assert.equal(omars.totals.opened, 0, "opening is the team's, no admin's");
  await settles(() => periodRows(page), periodsOf(omars), "Omar's days: picked up and closed");
  assert.deepEqual(await columns(page, "report-table-conversations"), ["Day", "Picked up", "Closed"], "no Opened series for one admin");
  await settles(() => rows(page, "report-admins", "data-admin-id"), adminRowsOf(omars, names), "Omar's row alone");

  // By week: Monday to Sunday, clipped to the range.
  const weekly = await reportOf(gateway, sarah, { ...range, granularity: "week", admin_id: omar.id });
  assert.ok(weekly.series.length >= 5 && weekly.series.length <= 6, `${weekly.series.length} weeks`);
  await page.getByTestId("report-granularity").selectOption("week");
  await settles(() => periodRows(page), periodsOf(weekly), "a row a week");
  await page.screenshot({ path: `${SCREENSHOTS}reports-admin-week.png`, fullPage: true });

  // The CSV: every figure of every period, then the admins.
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("report-export").click()]);
  assert.equal(download.suggestedFilename(), `report-${whole.from}-${whole.to}.csv`);
  const lines = readFileSync(await download.path(), "utf8").split("\r\n");
  assert.equal(lines[0], ["start", "end", ...COLUMNS].join(","));
  assert.equal(lines[1], [weekly.series[0].start, weekly.series[0].end, ...csvFigures(weekly.series[0], true)].join(","));
  assert.deepEqual(lines.slice(1 + weekly.series.length), [
    "", ["admin_id", "admin", ...COLUMNS].join(","), ...weekly.admins.map((a) => [a.admin_id, names.get(a.admin_id), ...csvFigures(a, true)].join(",")), "",
  ], "a blank line, then each admin");
  assert.deepEqual(weekly.admins.map((a) => a.admin_id), [omar.id]);

  // A range that ends before it starts: the route says no, and nothing of Omar's weeks is left
  // to read or export as if it were that range's.
  const dayBefore = new Date(Date.parse(whole.from) - 86400000).toISOString().slice(0, 10);
  await page.getByTestId("report-to").fill(dayBefore);
  await page.getByTestId("report-apply").click();
  await waitForText(page.getByTestId("report-error"), "The report could not be loaded: from must not be after to");
  assert.equal(await page.getByTestId("report-export").isDisabled(), true, "no export of the last report");
  assert.equal(await page.getByTestId("report-closed").count(), 0, "no figures of the last report");
  await page.getByTestId("report-to").fill(whole.to);

  // Back to the whole team by day: nothing serious for axe-core, in light or dark.
  await page.getByTestId("report-admin").selectOption({ label: "Whole team" });
  await page.getByTestId("report-granularity").selectOption("day");
  await settles(() => headlines(page), headlinesOf(whole), "the whole team again");
  await settles(() => periodRows(page), periodsOf(whole), "by day again");
  const axe = readFileSync(`${ROOT}tests/browser/node_modules/axe-core/axe.min.js`, "utf8");
  // The page as it is read, not as it was typed in.
  await page.evaluate(() => document.activeElement?.blur());
  for (const scheme of ["light", "dark"]) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.addScriptTag({ content: axe });
    const results = await page.evaluate(() => window.axe.run());
    const serious = results.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    const report = serious.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(" ")).join(", ")})`);
    assert.deepEqual(report, [], scheme);
    await page.screenshot({ path: `${SCREENSHOTS}reports-${scheme}.png`, fullPage: true });
  }

  // Back to the conversations, and Back returns to the reports.
  await page.getByTestId("close-reports").click();
  await page.getByTestId("tab-open").waitFor();
  assert.equal(await page.getByTestId("reports").isVisible(), false);
  await page.goBack();
  await page.getByTestId("reports").waitFor();

  // A link to the reports opens them at once.
  const linked = await context.newPage();
  await linked.goto(`${gateway.api}/inbox/?${query}#reports`);
  await settles(() => headlines(linked), headlinesOf(whole), "the reports, linked to");
});
