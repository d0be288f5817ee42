// The team's reports: conversations, waits, closes and ratings per day or week, as charts and CSV.

import { h } from "./dom.js";

const PATH = "/v1/chat/admin/reports/";
const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 12, right: 8, bottom: 26, left: 64 };
const PLOT = WIDTH - PAD.left - PAD.right;
const COUNT_STEPS = [0, 1, 2, 3, 4, 5, 6].flatMap((power) => [1, 2, 5].map((m) => m * 10 ** power));
// Steps a person reads as round: seconds, minutes, hours, days.
const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400, 172800, 604800, 2592000];
const COLUMNS = [
  "opened", "assigned", "closed", "messages_from_stores", "messages_from_team",
  "first_response_count", "first_response_median_seconds", "first_response_p90_seconds",
  "resolution_count", "resolution_median_seconds", "resolution_p90_seconds",
  "ratings_count", "ratings_average", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5",
];
// Dates are calendar days of the report's time zone: drawn as such, never shifted by the browser's.
const DAY = new Intl.DateTimeFormat([], { day: "numeric", month: "short", timeZone: "UTC" });
const YEAR = new Intl.DateTimeFormat([], { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
const DAY_MS = 86400000;

const dayText = (iso, format = DAY) => format.format(new Date(`${iso}T00:00:00Z`));
const daysOf = (start, end) => (Date.parse(end) - Date.parse(start)) / DAY_MS + 1;
const count = (n) => (n == null ? "—" : n.toLocaleString());
const plural = (n, one, many) => `${count(n)} ${n === 1 ? one : many}`;
const stars = (average) => (average == null ? "—" : `${average.toFixed(1)} / 5`);
const round = (n) => Math.round(n * 10) / 10;

const joined = (big, bigUnit, small, smallUnit) => (small ? `${big} ${bigUnit} ${small} ${smallUnit}` : `${big} ${bigUnit}`);

/** Seconds as a person says them: "45 s", "1 min 5 s", "1 h 20 min", "2 d". */
function duration(seconds) {
  if (seconds == null) return "—";
  if (seconds < 0.5) return seconds > 0 ? "< 1 s" : "0 s";
  if (seconds < 59.5) return `${Math.round(seconds)} s`;
  // Under ten minutes the seconds still tell one short wait from another.
  if (seconds < 599.5) return joined(Math.floor(Math.round(seconds) / 60), "min", Math.round(seconds) % 60, "s");
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 24 * 60) return joined(Math.floor(minutes / 60), "h", minutes % 60, "min");
  const hours = Math.round(minutes / 60);
  return joined(Math.floor(hours / 24), "d", hours % 24, "h");
}

/**
 * Durations as the histogram can tell them, `bounds` its buckets' upper bounds: a median or
 * a percentile in the last, open bucket is its lower bound, so it reads "over 7 d", not "7 d".
 */
const capped = (bounds) => (seconds) => (seconds != null && seconds >= bounds.at(-1) ? `over ${duration(bounds.at(-1))}` : duration(seconds));

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  node.append(...children);
  return node;
}

/** A few round ticks from 0 to at least `max`. */
function scale(max, steps) {
  const step = steps.find((s) => max / s <= 4) ?? Math.ceil(max / 4);
  const top = Math.max(step, Math.ceil(max / step) * step);
  return { top, ticks: Array.from({ length: top / step + 1 }, (_, i) => i * step) };
}

/**
 * A chart of `series` ({ name, values, tone, dashed? }) over `labels`: bars side by side, or
 * lines broken where a period has no value (nothing to measure is not a wait of zero). Labels
 * are thinned out so that they never overlap, however many; a mark's tip says its period's
 * whole name (`names`). `format` writes the values, `tick` the axis's round steps.
 */
function chart(label, labels, series, { format = count, tick = format, steps = COUNT_STEPS, lines = false, names = labels } = {}) {
  const { top, ticks } = scale(Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v != null))), steps);
  const band = PLOT / labels.length;
  const x = (i) => round(PAD.left + band * (i + 0.5));
  const y = (v) => round(PAD.top + (1 - v / top) * (HEIGHT - PAD.top - PAD.bottom));
  const longest = Math.max(...labels.map((l) => l.length));
  const every = Math.ceil((labels.length * (longest + 2) * 7) / PLOT);
  const parts = [
    ...ticks.map((at) => svg("g", { class: "chart-tick" },
      svg("line", { x1: PAD.left, x2: WIDTH - PAD.right, y1: y(at), y2: y(at) }),
      svg("text", { x: PAD.left - 6, y: y(at), "text-anchor": "end", "dominant-baseline": "middle" }, tick(at)))),
    ...labels.flatMap((text, i) => (i % every ? [] : [svg("text", { x: x(i), y: HEIGHT - 8, "text-anchor": "middle" }, text)])),
  ];
  const tip = (s, i) => svg("title", {}, `${names[i]}: ${format(s.values[i])} ${s.name.toLowerCase()}`);
  const bar = Math.min(28, (band * 0.8) / series.length);
  const runs = []; // a line's stretches between periods without a value
  const marks = [];
  series.forEach((s, k) => {
    const tone = `tone-${s.tone}${s.dashed ? " dashed" : ""}`;
    let run = null;
    s.values.forEach((v, i) => {
      if (!lines) {
        marks.push(svg("rect", {
          class: tone, x: round(x(i) - (bar * series.length) / 2 + k * bar), y: y(v), width: round(Math.max(bar - 1, 1)), height: round(y(0) - y(v)),
        }, tip(s, i)));
      } else if (v == null) {
        run = null;
      } else {
        if (!run) runs.push((run = { tone, points: [] }));
        run.points.push(`${x(i)},${y(v)}`);
        marks.push(svg("circle", { class: tone, cx: x(i), cy: y(v), r: 3 }, tip(s, i)));
      }
    });
  });
  const paths = runs.map((r) => svg("polyline", { class: r.tone, points: r.points.join(" ") }));
  const axis = svg("line", { class: "chart-axis", x1: PAD.left, x2: WIDTH - PAD.right, y1: y(0), y2: y(0) });
  const drawing = svg("svg", { class: "chart", viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": label }, ...parts, ...paths, axis, ...marks);
  const legend = series.length > 1 && h("ul", { class: "chart-legend" },
    ...series.map((s) => h("li", {}, h("span", { class: `swatch tone-${s.tone}`, "aria-hidden": "true" }), s.dashed ? `${s.name} (dashed)` : s.name)));
  return [drawing, legend];
}

/** Rows of [header, ...cells], a cell [raw value, text]; the raw value stays beside the text. */
function table(testid, caption, head, rows) {
  return h("table", { class: "report-table", "data-testid": testid },
    h("caption", { class: "sr-only" }, caption),
    h("thead", {}, h("tr", {}, ...head.map((name) => h("th", { scope: "col" }, name)))),
    h("tbody", {}, ...rows.map(({ attrs, header, cells }) => h("tr", attrs ?? {}, h("th", { scope: "row" }, header),
      ...cells.map(([value, text]) => h("td", { "data-value": value ?? "" }, text))))));
}

function figure(caption, [drawing, legend], numbers, note = null) {
  return h("figure", { class: "report-chart" }, h("figcaption", {}, caption), drawing, legend,
    note && h("p", { class: "chart-note" }, note),
    h("details", { class: "report-numbers" }, h("summary", {}, "Show the numbers"), numbers));
}

const shown = (testid, value, format) => h("span", { "data-testid": testid, "data-value": value ?? "" }, format(value));

function headline(term, ...value) {
  return h("div", { class: "report-figure" }, h("dt", {}, term), h("dd", {}, ...value));
}

const figureNote = (...parts) => h("span", { class: "figure-note" }, ...parts);

/**
 * The headline figures. One admin's are labelled as theirs (`name`): what waits now is the
 * whole team's queue, and opening is the team's alone, no admin's, so it comes last, as "—".
 */
function headlines(report, name, took) {
  const { totals: t } = report;
  const { first_response: fr, resolution: rs, ratings } = t;
  const one = report.admin_id != null;
  const mine = (term) => (one ? `${term} (${name})` : term);
  const opened = headline("Opened", shown("report-opened", t.opened, one ? () => "—" : count),
    one && figureNote("counted for the whole team only, not per admin"));
  const waiting = headline(one ? "Waiting now (whole team)" : "Waiting now", shown("report-waiting", report.waiting_now, count));
  const closed = headline(mine("Closed"), shown("report-closed", t.closed, count));
  const times = [
    headline(mine("First response, median"), shown("report-frt-median", fr.median_seconds, took),
      figureNote("90th percentile ", shown("report-frt-p90", fr.p90_seconds, took),
        ", average ", shown("report-frt-average", fr.average_seconds, duration))),
    headline(mine("Time to close, median"), shown("report-resolution-median", rs.median_seconds, took)),
    headline(mine("Satisfaction"), shown("report-csat-average", ratings.average, stars),
      figureNote("from ", shown("report-csat-count", ratings.count, count), ratings.count === 1 ? " rating" : " ratings")),
  ];
  return one
    ? [headline(mine("Picked up"), shown("report-assigned", t.assigned, count)), closed, ...times, waiting, opened]
    : [opened, closed, waiting, ...times];
}

/** A row of the CSV. Opening and the stores' messages are the team's: in an admin's row they
 * are left empty, as nothing to count rather than a count of 0. */
function figureCells(f, ofAdmin) {
  const { first_response: fr, resolution: rs, ratings } = f;
  const team = (value) => (ofAdmin ? null : value);
  return [team(f.opened), f.assigned, f.closed, team(f.messages_from_stores), f.messages_from_team,
    fr.count, fr.median_seconds, fr.p90_seconds, rs.count, rs.median_seconds, rs.p90_seconds,
    ratings.count, ratings.average, ...ratings.by_star];
}

function csvField(value) {
  if (value == null) return "";
  if (typeof value === "number") return String(value);
  // A name starting with = or + would run as a formula in a spreadsheet.
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/**
 * What the charts per period share: the period's name, the axis labels, the tables' rows. A
 * range over a new year, or near a year long, names the year. A week the range clips is
 * marked partial, so that its fewer days do not read as a quiet week.
 */
function periods(report) {
  const per = report.granularity === "week" ? "week" : "day";
  const format = report.from.slice(0, 4) !== report.to.slice(0, 4) || daysOf(report.from, report.to) > 300 ? YEAR : DAY;
  const partial = (p) => per === "week" && daysOf(p.start, p.end) < 7;
  const day = (iso) => dayText(iso, format);
  const name = (p) => (p.start === p.end ? day(p.start) : `${day(p.start)} – ${day(p.end)}`) + (partial(p) ? " (partial)" : "");
  return {
    per,
    name,
    head: per === "week" ? "Week" : "Day",
    labels: report.series.map((p) => day(p.start) + (partial(p) ? "*" : "")),
    names: report.series.map(name),
    note: report.series.some(partial) && "* A partial week: the range holds only some of its days.",
    rows: (cells) => report.series.map((p) => ({ attrs: { "data-start": p.start }, header: name(p), cells: cells(p) })),
  };
}

/** Opened and closed; for one admin, who opens nothing (opening is the team's), picked up and closed. */
function conversationsFigure(report, range, who) {
  const { totals: t, series } = report;
  const { per, name, head, labels, names, note, rows } = periods(report);
  const [key, what] = report.admin_id == null ? ["opened", "Opened"] : ["assigned", "Picked up"];
  const busiest = series.reduce((best, p) => (p[key] > (best?.[key] ?? 0) ? p : best), null);
  const summary = `Conversations per ${per}, ${range}, for ${who}: ${count(t[key])} ${what.toLowerCase()}, ${count(t.closed)} closed` +
    (busiest ? `; the most ${what.toLowerCase()}, ${count(busiest[key])}, ${name(busiest)}.` : ".");
  return figure(`Conversations per ${per}`,
    chart(summary, labels, [
      { name: what, tone: 1, values: series.map((p) => p[key]) },
      { name: "Closed", tone: 2, values: series.map((p) => p.closed) },
    ], { names }),
    table("report-table-conversations", `Conversations per ${per}`, [head, what, "Closed"],
      rows((p) => [[p[key], count(p[key])], [p.closed, count(p.closed)]])), note);
}

function firstResponseFigure(report, took) {
  const fr = report.totals.first_response;
  const { per, head, labels, names, note, rows } = periods(report);
  const summary = `Wait for the first response per ${per}: over the range, median ${took(fr.median_seconds)}, 90th percentile ${took(fr.p90_seconds)}.`;
  return figure(`Wait for the first response, per ${per}`,
    chart(summary, labels, [
      { name: "Median", tone: 1, values: report.series.map((p) => p.first_response.median_seconds) },
      { name: "90th percentile", tone: 2, dashed: true, values: report.series.map((p) => p.first_response.p90_seconds) },
    ], { format: took, tick: duration, steps: TIME_STEPS, lines: true, names }),
    table("report-table-first-response", `Wait for the first response, per ${per}`, [head, "Answered", "Median", "90th percentile"],
      rows(({ first_response: f }) => [[f.count, count(f.count)], [f.median_seconds, took(f.median_seconds)], [f.p90_seconds, took(f.p90_seconds)]])), note);
}

/**
 * The totals' histogram: how many were closed within each bucket's bounds. The bounds are the
 * answer's, however many: the axis's labels thin out as the periods' do.
 */
function resolutionFigure(report, took) {
  const { resolution } = report.totals;
  const bounds = report.duration_buckets_seconds;
  const closes = resolution.histogram;
  const buckets = [...bounds.map((b, i) => (i ? `${duration(bounds[i - 1])} – ${duration(b)}` : `Up to ${duration(b)}`)), `Over ${duration(bounds.at(-1))}`];
  const most = closes.indexOf(Math.max(...closes));
  const summary = `Time from opening to closing, ${plural(resolution.count, "conversation", "conversations")}: median ${took(resolution.median_seconds)}` +
    (closes[most] ? `; the most, ${count(closes[most])}, ${buckets[most].toLowerCase()}.` : ".");
  return figure("Time from opening to closing",
    chart(summary, [...bounds.map(duration), `> ${duration(bounds.at(-1))}`], [{ name: "Conversations", tone: 1, values: closes }], { names: buckets }),
    table("report-table-resolution", "Time from opening to closing", ["Closed after", "Conversations"],
      buckets.map((header, i) => ({ header, cells: [[closes[i], count(closes[i])]] }))));
}

function satisfactionFigure(report) {
  const { ratings } = report.totals;
  const labels = [1, 2, 3, 4, 5].map((n) => plural(n, "star", "stars"));
  const summary = `Satisfaction: ${plural(ratings.count, "rating", "ratings")}, average ${stars(ratings.average)}; ` +
    ratings.by_star.map((n, i) => `${labels[i]}: ${count(n)}`).join(", ") + ".";
  return figure("Satisfaction",
    chart(summary, labels, [{ name: "Ratings", tone: 1, values: ratings.by_star }]),
    table("report-table-csat", "Satisfaction", ["Rating", "Ratings"],
      ratings.by_star.map((n, i) => ({ header: labels[i], cells: [[n, count(n)]] }))));
}

/**
 * Fills `root` with the reports page; `team()` is the directory (admin id -> entry), read
 * again by `teamChanged()`. `show({ focus })` loads the chosen report afresh.
 */
export function reportsView({ api, root, team }) {
  let report = null;
  let loads = 0; // only the last load asked for is shown
  let known = ""; // the directory's ids and names as last drawn
  // Until the admin picks dates, each load asks for the default range, so that the page shown
  // again the next day ends today rather than on the day the dates were filled in.
  let datesChosen = false;
  let open = []; // which tables of numbers the admin opened: they stay open as the report is drawn again
  const nameOf = (id) => team().get(id)?.name ?? `Admin ${id}`;

  const heading = h("h2", { id: "reports-title", tabindex: "-1" }, "Reports");
  const from = h("input", { id: "report-from", type: "date", "data-testid": "report-from" });
  const to = h("input", { id: "report-to", type: "date", "data-testid": "report-to" });
  const granularity = h("select", { id: "report-granularity", "data-testid": "report-granularity" },
    h("option", { value: "day" }, "Day"), h("option", { value: "week" }, "Week"));
  const admin = h("select", { id: "report-admin", "data-testid": "report-admin" }, h("option", { value: "" }, "Whole team"));
  const exportButton = h("button", {
    type: "button", class: "button report-export", "data-testid": "report-export", disabled: true, onclick: exportCsv,
  }, "Export CSV");
  const field = (control, text) => h("div", { class: "report-field" }, h("label", { for: control.id }, text), control);
  const form = h("form", { class: "report-form" },
    field(from, "From"), field(to, "To"), field(granularity, "Per"), field(admin, "Admin"),
    h("button", { type: "submit", class: "button button-primary", "data-testid": "report-apply" }, "Show"), exportButton);
  const status = h("p", { class: "report-status", role: "status" });
  const error = h("p", { class: "report-error", role: "alert", "data-testid": "report-error", hidden: true });
  const figures = h("dl", { class: "report-figures" });
  const charts = h("div", { class: "report-charts" });
  const admins = h("div", { class: "report-admins" });
  const results = h("div", { class: "report-results", "aria-busy": "false" }, figures, charts, admins);
  root.append(heading, form, status, error, results);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  // A choice from a list shows at once; dates wait for Show, or a half-typed year would load.
  for (const select of [granularity, admin]) select.addEventListener("change", load);
  // Only the admin's own input: the dates filled in from an answer fire no event.
  for (const input of [from, to]) input.addEventListener("input", () => { datesChosen = true; });

  /** The picker and the names drawn again when a name changed, not at each change of presence:
   * a list rebuilt under the admin choosing from it would close. */
  function fillAdmins() {
    const people = [...team().values()].sort((a, b) => a.name.localeCompare(b.name));
    const names = people.map((a) => `${a.admin_id}:${a.name}`).join("\n");
    if (names === known) return false;
    known = names;
    const chosen = admin.value;
    admin.replaceChildren(h("option", { value: "" }, "Whole team"), ...people.map((a) => h("option", { value: a.admin_id }, a.name)));
    admin.value = chosen;
    if (admin.value !== chosen) admin.value = "";
    return true;
  }

  async function load() {
    const asked = ++loads;
    results.setAttribute("aria-busy", "true");
    // Both dates emptied: the default range again.
    if (!from.value && !to.value) datesChosen = false;
    const dates = datesChosen ? { from: from.value || null, to: to.value || null } : {};
    const query = { ...dates, granularity: granularity.value, admin_id: admin.value || null };
    try {
      const answer = await api(PATH, { query });
      if (asked !== loads) return;
      report = answer;
      if (!datesChosen) {
        from.value = answer.from;
        to.value = answer.to;
      }
      error.hidden = true;
      render();
    } catch (failure) {
      if (asked !== loads) return;
      clear();
      error.textContent = `The report could not be loaded: ${failure.message}`;
      error.hidden = false;
    } finally {
      if (asked === loads) results.setAttribute("aria-busy", "false");
    }
  }

  function render() {
    const per = report.granularity === "week" ? "week" : "day";
    const name = report.admin_id == null ? null : nameOf(report.admin_id);
    const who = name ?? "the whole team";
    const range = `${dayText(report.from, YEAR)} – ${dayText(report.to, YEAR)}`;
    const took = capped(report.duration_buckets_seconds);
    status.textContent = `${range}, per ${per}, for ${who}. Days are counted in ${report.time_zone}.`;
    exportButton.disabled = false;
    figures.replaceChildren(...headlines(report, name, took));
    keepOpen();
    charts.replaceChildren(conversationsFigure(report, range, who), firstResponseFigure(report, took),
      resolutionFigure(report, took), satisfactionFigure(report));
    charts.querySelectorAll("details").forEach((d, i) => { d.open = !!open[i]; });
    renderAdmins(took);
  }

  /** After a failed load: the figures drawn were another range's, and none is better than the
   * wrong ones, nor is a CSV of them. */
  function clear() {
    report = null;
    exportButton.disabled = true;
    status.textContent = "";
    keepOpen();
    for (const part of [figures, charts, admins]) part.replaceChildren();
  }

  function keepOpen() {
    if (charts.childElementCount) open = [...charts.querySelectorAll("details")].map((d) => d.open);
  }

  function renderAdmins(took) {
    const rows = report.admins.map((a) => ({
      attrs: { "data-admin-id": a.admin_id },
      header: nameOf(a.admin_id),
      cells: [[a.assigned, count(a.assigned)], [a.closed, count(a.closed)],
        [a.first_response.median_seconds, took(a.first_response.median_seconds)],
        [a.ratings.average, stars(a.ratings.average)], [a.ratings.count, count(a.ratings.count)]],
    }));
    // A table without rows would be headers over nothing.
    admins.replaceChildren(h("h3", {}, "By admin"), rows.length
      ? table("report-admins", "By admin", ["Admin", "Picked up", "Handled", "First response, median", "Average rating", "Ratings"], rows)
      : h("p", { class: "muted", "data-testid": "report-admins" }, "No admin took a conversation in this range."));
  }

  function exportCsv() {
    if (!report) return;
    const lines = [
      ["start", "end", ...COLUMNS], ...report.series.map((p) => [p.start, p.end, ...figureCells(p, report.admin_id != null)]), [],
      ["admin_id", "admin", ...COLUMNS], ...report.admins.map((a) => [a.admin_id, nameOf(a.admin_id), ...figureCells(a, true)]),
    ];
    const blob = new Blob([lines.map((line) => line.map(csvField).join(",")).join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    const link = h("a", { href: URL.createObjectURL(blob), download: `report-${report.from}-${report.to}.csv`, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    // The download has its own copy once started.
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  }

  return {
    show({ focus = false } = {}) {
      fillAdmins();
      if (focus) heading.focus();
      load();
    },
    teamChanged() {
      if (fillAdmins() && report) render();
    },
  };
}
