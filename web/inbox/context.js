// The store's context beside a conversation: who it is, how its earlier conversations went
// (their number, the last rating, their tags), and a way to open each one the admin may.

import { h, timeNode } from "./dom.js";

const STATUS_TEXT = { open: "Open", claimed: "Claimed", closed: "Closed" };

function stars(rating) {
  return h("span", { class: "stars", "aria-label": `${rating} out of 5` }, "★".repeat(rating) + "☆".repeat(5 - rating));
}

/**
 * Fills `container` with `context` (the store route's answer) for the conversation
 * `currentId`; `open(id)` opens another, `adminName(id)` names its holder.
 */
export function renderStoreContext(container, context, { currentId, open, adminName }) {
  const { store, session_count: count, last_rating: lastRating, sessions } = context;
  const facts = h("dl", { class: "context-facts" },
    h("dt", {}, "Email"), h("dd", {}, store.email || "—"),
    h("dt", {}, "Conversations"), h("dd", { "data-testid": "context-count" }, String(count)),
    h("dt", {}, "Last rating"), h("dd", { "data-testid": "context-rating" }, lastRating ? stars(lastRating) : "None yet"));
  const earlier = sessions.filter((session) => session.id !== currentId);
  const rows = earlier.map((session) => {
    const label = [STATUS_TEXT[session.status] ?? session.status, `${session.message_count} messages`].join(" · ");
    const what = h("span", { class: "context-what" }, timeNode(session.created, "context-time"), ` ${label}`);
    const parts = [what];
    if (session.rating) parts.push(stars(session.rating));
    if (session.tags.length) parts.push(h("span", { class: "item-tags" }, ...session.tags.map((tag) => h("span", { class: "tag" }, tag))));
    parts.push(session.viewable
      ? h("button", { type: "button", class: "button button-quiet", "data-testid": "context-open", "aria-label": `View the conversation: ${label}`, onclick: () => open(session.id) }, "View")
      : h("span", { class: "muted" }, `Handled by ${adminName(session.admin_id)}`));
    return h("li", { class: "context-session", "data-testid": "context-session", "data-session-id": session.id }, ...parts);
  });
  container.replaceChildren(
    facts,
    h("h4", { class: "context-subtitle" }, "Earlier conversations"),
    rows.length ? h("ul", { class: "context-sessions" }, ...rows) : h("p", { class: "muted" }, "This is the store's first conversation."));
}
