// Admin inbox: lists the support queue and the admin's own sessions, shows one conversation,
// and keeps everything live from the WebSocket events, falling back to refetching after a
// reconnect so that nothing is missed or doubled.

import { renderStoreContext } from "./context.js";
import { h, safeUrl, timeNode } from "./dom.js";
import { savedReplies } from "./replies.js";
import { reportsView } from "./reports.js";

const ALLOWED_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"];
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const TAG_PATTERN = /^[a-z0-9_-]{1,32}$/;
const MAX_TAGS = 10;
const LIST_LIMIT = 50;
const OLDER_LIMIT = 50;
const VIEW_SIZE = 200; // the session view carries at most this many of the newest messages
const STATUS_RANK = { sent: 0, delivered: 1, read: 2 };
const RECEIPT_TEXT = ["Sent", "Delivered", "Read"];
const RECEIPT_STATUS = ["sent", "delivered", "read"];
const TAB_STATUS = { open: "open", mine: "claimed", closed: "closed" };
const TYPING_REPEAT_MS = 3000;
const TYPING_IDLE_MS = 4000;
const PEER_TYPING_TIMEOUT_MS = 6000;
const RECONNECT_MAX_MS = 15000;
const PING_EVERY_MS = 4 * 60 * 1000; // well inside API Gateway's 10-minute idle timeout
// How long after sending a message its sender may edit or delete it until the directory
// says the deployment's `EditWindowSeconds`; the server decides, this only hides what it would
// refuse.
const DEFAULT_EDIT_WINDOW_MS = 15 * 60 * 1000;
const SEND_RETRY_MAX_MS = 30000;

const state = {
  config: null, // { api, ws, token, tokenUrl }
  me: null, // this admin's id, once known
  sessions: new Map(), // id -> SessionSummary
  cursors: { open: null, claimed: null, closed: null },
  tab: "open",
  current: null, // the conversation on screen
  marks: new Map(), // session id -> { delivered, read }: the store's receipts of admin messages
  readPosted: new Map(), // session id -> the highest message id this page marked read
  drafts: new Map(), // session id -> { text, note }: unsent composer text, and whether a note
  outbox: [], // sends not yet answered, oldest first
  flushing: false,
  sendRetryTimer: 0,
  sendRetryDelay: 2000,
  ws: null,
  wsAttempt: 0,
  wsTimer: 0,
  renewTimer: 0,
  retiring: null, // the socket of the token before, closed once the new one is open
  wsEverOpen: false,
  listRefreshTimer: 0,
  typing: { sessionId: null, lastOn: 0, idleTimer: 0 },
  peerTypingTimer: 0,
  team: new Map(), // admin id -> directory entry {admin_id, name, presence, load, capacity}
  editWindowMs: DEFAULT_EDIT_WINDOW_MS,
  teamRefreshTimer: 0,
  unseenAssigned: 0, // sessions given to this admin while the tab was in the background
  search: null, // a search's results: { query, ids, cursor, total }
  replies: null, // the saved replies (./replies.js)
  reports: null, // the reports page (./reports.js)
};

const PRESENCE_TEXT = { available: "Available", away: "Away", offline: "Offline" };
const PRESENCE_ORDER = { available: 0, away: 1, offline: 2 };
const TITLE = document.title;

const listNodes = new Map(); // session id -> <li> in the session list

const $ = (id) => document.getElementById(id);
const els = {
  app: $("app"),
  sidebar: $("sidebar"),
  status: document.querySelector('[data-testid="connection-status"]'),
  alert: document.querySelector('[data-testid="alert"]'),
  alertText: $("alert-text"),
  alertDismiss: $("alert-dismiss"),
  tabs: [...document.querySelectorAll('[role="tab"]')],
  panel: $("session-panel"),
  list: $("session-list"),
  listEmpty: $("list-empty"),
  listMore: $("list-more"),
  signin: $("signin"),
  placeholder: $("placeholder"),
  conversation: $("conversation"),
  back: $("back"),
  title: $("conv-title"),
  statusChip: $("conv-status"),
  holder: $("conv-holder"),
  claim: $("claim"),
  close: $("close"),
  transferForm: $("transfer-form"),
  transferInput: $("transfer-input"),
  transfer: $("transfer"),
  tagsForm: $("tags-form"),
  tagsInput: $("tags-input"),
  tagsSave: $("tags-save"),
  rating: $("rating"),
  ratingScore: $("rating-score"),
  ratingFeedback: $("rating-feedback"),
  log: $("log"),
  older: $("older"),
  messages: $("messages"),
  typing: $("typing"),
  composer: $("composer"),
  input: $("composer-input"),
  attach: $("attach"),
  send: $("send"),
  composerHint: $("composer-hint"),
  availability: $("availability"),
  team: $("team"),
  closeDialog: $("close-dialog"),
  historyDialog: $("history-dialog"),
  historyList: $("history-list"),
  repliesDialog: $("replies-dialog"),
  replyPicker: $("reply-picker"),
  manageReplies: $("manage-replies"),
  modeReply: $("mode-reply"),
  modeNote: $("mode-note"),
  composerLabel: $("composer-label"),
  context: $("context"),
  search: $("search"),
  searchQ: $("search-q"),
  searchStatus: $("search-status"),
  searchHolder: $("search-holder"),
  searchTag: $("search-tag"),
  searchFrom: $("search-from"),
  searchTo: $("search-to"),
  searchSummary: $("search-summary"),
  searchCount: $("search-count"),
  searchClear: $("search-clear"),
  views: $("views"),
  viewConversations: $("view-conversations"),
  viewReports: $("view-reports"),
  reports: $("reports"),
};

class ApiError extends Error {
  constructor(message, status, retryAfter = 0) {
    super(message);
    this.status = status;
    // Seconds the server asked to wait (a send past the minute's limit).
    this.retryAfter = retryAfter;
  }
}

class NetworkError extends Error {}

// ---------------------------------------------------------------------------------------------
// Small helpers

function newClientId() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // randomUUID exists only in secure contexts; a page served over plain http still needs ids.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const isVisible = () => document.visibilityState === "visible";
const isTransient = (error) => error instanceof NetworkError || [502, 503, 504].includes(error?.status);

// ---------------------------------------------------------------------------------------------
// Alerts and connection status

function showError(error) {
  const text = typeof error === "string" ? error : error?.message || "Something went wrong";
  els.alertText.textContent = text;
  els.alert.hidden = false;
}

function dismissAlert() {
  els.alert.hidden = true;
  els.alertText.textContent = "";
}

function setConnection(mode) {
  const text = { connecting: "Connecting…", connected: "Connected", reconnecting: "Reconnecting…", offline: "Not connected" };
  // Rewriting the same words would make screen readers announce them again on every attempt.
  if (els.status.dataset.state === mode) return;
  els.status.dataset.state = mode;
  els.status.textContent = text[mode];
}

// ---------------------------------------------------------------------------------------------
// HTTP API

async function api(path, { method = "GET", query, body } = {}) {
  const url = new URL(state.config.api + path);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value != null) url.searchParams.set(key, String(value));
  }
  const headers = { Authorization: `Token ${state.config.token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new NetworkError("Network error: the server could not be reached.");
  }
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = data?.error || data?.message || `Request failed (${response.status})`;
    throw new ApiError(message, response.status, Number(response.headers.get("Retry-After")) || 0);
  }
  return data;
}

const adminPath = (rest) => `/v1/chat/admin/${rest}`;

// ---------------------------------------------------------------------------------------------
// A short-lived token from the platform's token provider (`token_url`: an endpoint of the
// platform that answers `{token, expires_at}`), renewed this long before it expires (or
// with a quarter of its life left, if that is less); the live connection moves to it.

const RENEW_BEFORE_MS = 60 * 1000;

async function fetchToken() {
  const response = await fetch(state.config.tokenUrl, { credentials: "include" });
  const answer = await response.json().catch(() => null);
  if (!response.ok || !answer?.token) throw new ApiError("No token from the token provider", 401);
  state.config.token = answer.token;
  clearTimeout(state.renewTimer);
  const expires = answer.expires_at ? Date.parse(answer.expires_at) : null;
  if (expires) {
    const left = expires - Date.now();
    state.renewTimer = setTimeout(renewToken, Math.max(0, left - Math.min(RENEW_BEFORE_MS, left / 4)));
  }
}

async function renewToken() {
  try {
    await fetchToken();
  } catch {
    state.renewTimer = setTimeout(renewToken, 5000);
    return;
  }
  // The old connection hears events until the new one is open.
  state.retiring = state.ws;
  connect();
}

// ---------------------------------------------------------------------------------------------
// Sessions and the list

function tabOf(session) {
  if (session.status === "open") return "open";
  if (state.me == null || session.admin_id !== state.me) return null;
  return session.status === "claimed" ? "mine" : "closed";
}

function byActivity(a, b) {
  const diff = Date.parse(b.last_message_at) - Date.parse(a.last_message_at);
  return diff || b.id - a.id;
}

/** Takes a server view of a session unless it is older than the one already held. */
function upsertSession(incoming) {
  const old = state.sessions.get(incoming.id);
  if (old && Date.parse(incoming.updated) < Date.parse(old.updated)) return old;
  const merged = { ...old, ...incoming };
  // Messages arrive as their own events; a summary made before the newest of them must not
  // roll the preview and counts back.
  const oldLast = old?.last_message?.id ?? 0;
  if (oldLast > (incoming.last_message?.id ?? 0)) {
    merged.last_message = old.last_message;
    merged.last_message_at = old.last_message_at;
    merged.message_count = old.message_count;
    merged.unread_count = old.unread_count;
  }
  state.sessions.set(incoming.id, merged);
  return merged;
}

function learnMe(sessions) {
  if (state.me != null) return;
  const held = sessions.find((s) => s.status !== "open" && s.admin_id != null);
  if (held) state.me = held.admin_id;
}

async function loadList(status, cursor = null) {
  const page = await api(adminPath("sessions/"), { query: { status, limit: LIST_LIMIT, cursor } });
  learnMe(page.sessions);
  if (!cursor) dropMissing(status, page.sessions);
  page.sessions.forEach(upsertSession);
  state.cursors[status] = page.next_cursor;
}

/** A fresh first page replaces what was known of that status (the rest pages in again). */
function dropMissing(status, sessions) {
  const present = new Set(sessions.map((s) => s.id));
  for (const [id, session] of state.sessions) {
    if (session.status === status && !present.has(id) && id !== state.current?.id) state.sessions.delete(id);
  }
}

async function refreshLists() {
  const results = await Promise.allSettled(["open", "claimed", "closed"].map((status) => loadList(status)));
  renderList();
  renderConversationHead();
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

function scheduleListRefresh() {
  clearTimeout(state.listRefreshTimer);
  state.listRefreshTimer = setTimeout(() => refreshLists().catch(showError), 300);
}

function sessionsForTab(tab) {
  return [...state.sessions.values()].filter((s) => tabOf(s) === tab).sort(byActivity);
}

function previewText(message) {
  if (!message) return "No messages yet";
  if (message.content) return message.content;
  return message.attachment_url ? "Attachment" : "";
}

function fillItem(button, session) {
  button.dataset.sessionId = session.id;
  button.setAttribute("aria-current", String(state.current?.id === session.id));
  const name = session.store?.name || `Store ${session.store_id}`;
  const top = h("span", { class: "item-row" },
    h("span", { class: "item-name" }, name),
    timeNode(session.last_message_at, "item-time"));
  const bottom = h("span", { class: "item-row" },
    h("span", { class: "item-preview", "data-testid": "preview" }, previewText(session.last_message)));
  if (session.unread_count > 0) {
    bottom.append(
      h("span", { class: "badge", "data-testid": "unread" }, String(session.unread_count)),
      h("span", { class: "sr-only" }, " unread"));
  }
  const parts = [top, bottom];
  if (session.tags?.length) {
    parts.push(h("span", { class: "item-tags" }, ...session.tags.map((tag) => h("span", { class: "tag" }, tag))));
  }
  button.replaceChildren(...parts);
}

function createItem(id) {
  const button = h("button", {
    type: "button",
    class: "session-item",
    "data-testid": "session-item",
    onclick: () => openSession(id),
  });
  return h("li", {}, button);
}

function renderList() {
  const search = state.search;
  const wanted = search ? search.ids.map((id) => state.sessions.get(id)).filter(Boolean) : sessionsForTab(state.tab);
  const keep = new Set(wanted.map((s) => s.id));
  const focusedId = document.activeElement?.closest?.('[data-testid="session-item"]')?.dataset.sessionId;
  for (const [id, node] of listNodes) {
    if (!keep.has(id)) {
      node.remove();
      listNodes.delete(id);
    }
  }
  let previous = null;
  for (const session of wanted) {
    let item = listNodes.get(session.id);
    if (!item) {
      item = createItem(session.id);
      listNodes.set(session.id, item);
    }
    fillItem(item.firstChild, session);
    const expected = previous ? previous.nextSibling : els.list.firstChild;
    if (item !== expected) els.list.insertBefore(item, expected);
    previous = item;
  }
  // Moving a focused item blurs it; keyboard users keep their place.
  if (focusedId && document.activeElement === document.body) {
    listNodes.get(Number(focusedId))?.firstChild.focus();
  }
  els.listEmpty.hidden = wanted.length > 0;
  els.listEmpty.textContent = search
    ? "No conversation matches."
    : { open: "The queue is empty.", mine: "You hold no sessions.", closed: "No closed sessions." }[state.tab];
  els.listMore.hidden = search ? !search.cursor : !state.cursors[TAB_STATUS[state.tab]];
  els.searchSummary.hidden = !search;
  if (search) els.searchCount.textContent = `${search.total} ${search.total === 1 ? "conversation matches" : "conversations match"}`;
  for (const tab of Object.keys(TAB_STATUS)) {
    $(`count-${tab}`).textContent = String(sessionsForTab(tab).length);
  }
  renderTitle();
}

/** For a tab in the background: the conversations given to this admin meanwhile, then the
 * unread messages in the queue and in its own sessions. */
function renderTitle() {
  let unread = 0;
  for (const session of state.sessions.values()) {
    const tab = tabOf(session);
    if (tab === "open" || tab === "mine") unread += session.unread_count ?? 0;
  }
  const badges = [];
  if (state.unseenAssigned > 0) badges.push(`${state.unseenAssigned} new`);
  if (unread > 0) badges.push(String(unread));
  document.title = badges.length > 0 ? `(${badges.join(" · ")}) ${TITLE}` : TITLE;
}

function selectTab(tab, { focus = false } = {}) {
  state.tab = tab;
  if (state.search) {
    state.search = null;
    els.search.reset();
  }
  for (const button of els.tabs) {
    const selected = button.dataset.tab === tab;
    button.setAttribute("aria-selected", String(selected));
    button.tabIndex = selected ? 0 : -1;
    if (selected) {
      els.panel.setAttribute("aria-labelledby", button.id);
      if (focus) button.focus();
    }
  }
  renderList();
}

function onTabKey(event) {
  const order = els.tabs.map((b) => b.dataset.tab);
  const index = order.indexOf(state.tab);
  const moves = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: order.length - 1 };
  if (!(event.key in moves)) return;
  event.preventDefault();
  selectTab(order[(moves[event.key] + order.length) % order.length], { focus: true });
}

// ---------------------------------------------------------------------------------------------
// Finding a conversation: by the store's name or email, status, whose, tag and when last
// active; counted and paged as the lists are.

function searchQuery() {
  const query = {
    q: els.searchQ.value.trim(),
    status: els.searchStatus.value,
    holder: els.searchHolder.value,
    tag: els.searchTag.value.trim().toLowerCase(),
    from: els.searchFrom.value,
    to: els.searchTo.value,
  };
  return Object.fromEntries(Object.entries(query).filter(([, value]) => value));
}

async function runSearch(event) {
  event?.preventDefault();
  const query = searchQuery();
  if (Object.keys(query).length === 0) {
    clearSearch();
    return;
  }
  try {
    const page = await api(adminPath("sessions/"), { query: { ...query, limit: LIST_LIMIT } });
    page.sessions.forEach(upsertSession);
    state.search = { query, ids: page.sessions.map((s) => s.id), cursor: page.next_cursor, total: page.total_count };
    renderList();
  } catch (error) {
    showError(error);
  }
}

async function moreSearchResults() {
  const search = state.search;
  const page = await api(adminPath("sessions/"), { query: { ...search.query, limit: LIST_LIMIT, cursor: search.cursor } });
  page.sessions.forEach(upsertSession);
  search.ids.push(...page.sessions.map((s) => s.id));
  search.cursor = page.next_cursor;
}

function clearSearch() {
  state.search = null;
  els.search.reset();
  renderList();
}

async function loadMoreSessions() {
  if (state.search) {
    els.listMore.disabled = true;
    try {
      await moreSearchResults();
      renderList();
    } catch (error) {
      showError(error);
    } finally {
      els.listMore.disabled = false;
    }
    return;
  }
  const status = TAB_STATUS[state.tab];
  if (!state.cursors[status]) return;
  els.listMore.disabled = true;
  try {
    await loadList(status, state.cursors[status]);
    renderList();
  } catch (error) {
    showError(error);
  } finally {
    els.listMore.disabled = false;
  }
}

function setUnread(sessionId, count) {
  const session = state.sessions.get(sessionId);
  if (!session || session.unread_count === count) return;
  session.unread_count = count;
  renderList();
}

/** Keeps a session's preview and counts in step with a message, counting each message once. */
function noteMessageInList(message) {
  const session = state.sessions.get(message.session_id);
  if (!session) {
    scheduleListRefresh();
    return;
  }
  const lastId = session.last_message?.id ?? 0;
  if (message.id < lastId) return;
  if (message.id === lastId) {
    session.last_message = message;
    return;
  }
  session.last_message = message;
  session.last_message_at = message.created;
  session.message_count = (session.message_count ?? 0) + 1;
  if (message.sender_type === "store") session.unread_count = (session.unread_count ?? 0) + 1;
}

// ---------------------------------------------------------------------------------------------
// The conversation

function currentSession() {
  const current = state.current;
  return current ? state.sessions.get(current.id) ?? current.head : null;
}

const isMine = (session) => session?.status === "claimed" && state.me != null && session.admin_id === state.me;

/** An admin's name as the directory knows it. */
function adminName(id) {
  return state.team.get(id)?.name ?? `admin ${id}`;
}

function holderText(session) {
  if (session.admin_id == null) return session.status === "closed" ? "Closed without an admin" : "In the queue";
  const who = session.admin_id === state.me ? "you" : adminName(session.admin_id);
  return session.status === "closed" ? `Handled by ${who}` : `Held by ${who}`;
}

function renderConversationHead() {
  const session = currentSession();
  if (!session) return;
  const mine = isMine(session);
  els.conversation.dataset.sessionId = session.id;
  els.title.textContent = session.store?.name || `Store ${session.store_id}`;
  els.statusChip.dataset.status = session.status;
  els.statusChip.textContent = { open: "Open", claimed: "Claimed", closed: "Closed" }[session.status] ?? session.status;
  els.holder.textContent = holderText(session);
  els.claim.hidden = session.status !== "open";
  els.close.hidden = !mine;
  els.transferForm.hidden = !(session.status === "open" || mine);
  renderTransferOptions(session);
  renderTags(session);
  renderRating(session);
  renderComposerState(session);
}

function renderTags(session) {
  if (els.tagsInput.dataset.dirty === "true" || !session.tags) return;
  els.tagsInput.value = session.tags.join(", ");
}

function renderRating(session) {
  const hasRating = session.rating != null;
  els.rating.hidden = !hasRating && !session.feedback;
  if (els.rating.hidden) return;
  const stars = hasRating ? "★".repeat(session.rating) + "☆".repeat(5 - session.rating) : "";
  els.ratingScore.textContent = hasRating ? `Store's rating: ${session.rating}/5 ` : "Store's feedback";
  if (stars) els.ratingScore.append(h("span", { "aria-hidden": "true" }, stars));
  els.ratingFeedback.hidden = !session.feedback;
  els.ratingFeedback.textContent = session.feedback ?? "";
}

/** Replies go to the store, from its holder; private notes to the team, from any admin who
 * may see the conversation, closed ones included. A note is chosen for the admin only when
 * it cannot reply; the box never turns a note being written into a reply, and says which
 * it is. */
function renderComposerState(session) {
  const mine = isMine(session);
  els.modeReply.disabled = !mine;
  const writing = els.input.value.trim() !== "";
  if (mine && !state.current?.noteChosen && !writing) els.modeReply.checked = true;
  if (!mine) els.modeNote.checked = true;
  const note = els.modeNote.checked;
  els.composer.dataset.mode = note ? "note" : "reply";
  els.composerLabel.textContent = note ? "Private note: only the team sees it" : "Reply to the store";
  els.send.textContent = note ? "Add note" : "Send";
  els.attach.disabled = note;
  let hint = note ? "Enter adds the note. The store never sees it." : "Enter sends, Shift+Enter starts a new line. Type / for a saved reply.";
  if (!mine) {
    if (session.status === "open") hint = "Claim this conversation to reply; notes are for the team.";
    else if (session.status === "closed") hint = "This conversation is closed; notes are for the team.";
    else hint = "Another admin holds this conversation; notes are for the team.";
  }
  els.composerHint.textContent = hint;
  if (note) stopTyping();
}

function showConversation(visible) {
  els.conversation.hidden = !visible;
  els.placeholder.hidden = visible;
  els.app.classList.toggle("show-conversation", visible);
}

async function openSession(id) {
  if (state.current?.id === id) {
    showConversation(true);
    return;
  }
  leaveCurrent();
  state.current = {
    id,
    head: null, // the session view's head, for a session no list holds
    messages: new Map(), // id -> MessageView
    nodes: new Map(), // message id -> <li>
    pendingNodes: new Map(), // client_message_id -> <li>
    notes: new Map(), // id -> Note
    noteChosen: false, // the admin chose to write a note here
    hasMore: false,
    loaded: false,
    loading: false,
    loadingOlder: false,
    atBottom: true,
  };
  els.messages.replaceChildren();
  els.context.replaceChildren();
  els.older.hidden = true;
  els.typing.hidden = true;
  const draft = state.drafts.get(id);
  els.input.value = draft?.text ?? "";
  state.current.noteChosen = draft?.note ?? false;
  els.tagsInput.dataset.dirty = "false";
  els.transferInput.value = "";
  showConversation(true);
  renderConversationHead();
  renderList();
  state.outbox.filter((item) => item.sessionId === id).forEach(renderPending);
  await loadCurrent();
}

function leaveCurrent() {
  const current = state.current;
  if (!current) return;
  stopTyping();
  state.drafts.set(current.id, { text: els.input.value, note: els.modeNote.checked });
  clearTimeout(state.peerTypingTimer);
}

async function loadCurrent() {
  const current = state.current;
  if (!current || current.loading) return;
  current.loading = true;
  try {
    const view = await api(adminPath("session/"), { query: { session_id: current.id } });
    if (state.current !== current) return;
    const { messages, ...head } = view;
    current.head = { ...head, last_message: messages.at(-1) ?? null };
    const known = state.sessions.get(current.id);
    if (known) upsertSession({ ...known, ...head });
    current.hasMore = messages.length >= VIEW_SIZE;
    messages.forEach((m) => applyMessage(m, "view"));
    current.loaded = true;
    renderConversationHead();
    renderOlderButton();
    scrollToBottom();
    markRead();
    loadNotes(current);
    loadContext(current, head.store?.id ?? head.store_id);
    if (head.status === "closed") refreshClosedSummaries();
  } catch (error) {
    if (state.current === current) showError(error);
  } finally {
    current.loading = false;
  }
}

/**
 * The session view has no rating: a closed conversation opened cold takes it from a fresh
 * page of the closed list (a rating made while it is shown arrives as session.updated).
 */
async function refreshClosedSummaries() {
  try {
    const page = await api(adminPath("sessions/"), { query: { status: "closed", limit: LIST_LIMIT } });
    page.sessions.forEach(upsertSession);
    renderList();
    renderConversationHead();
  } catch (error) {
    if (!isTransient(error)) showError(error);
  }
}

function renderOlderButton() {
  const current = state.current;
  els.older.hidden = !current?.loaded || !current.hasMore;
  els.older.disabled = !!current?.loadingOlder;
}

async function loadOlder() {
  const current = state.current;
  if (!current?.loaded || !current.hasMore || current.loadingOlder) return;
  const oldest = Math.min(...current.messages.keys());
  if (!Number.isFinite(oldest)) {
    current.hasMore = false;
    renderOlderButton();
    return;
  }
  current.loadingOlder = true;
  renderOlderButton();
  const fromBottom = els.log.scrollHeight - els.log.scrollTop;
  try {
    const page = await api(adminPath("messages/"), { query: { session_id: current.id, before: oldest, limit: OLDER_LIMIT } });
    if (state.current !== current) return;
    page.messages.forEach((m) => applyMessage(m, "older"));
    current.hasMore = page.has_more;
    // Older messages go above; keep the ones being read where they were.
    els.log.scrollTop = els.log.scrollHeight - fromBottom;
  } catch (error) {
    showError(error);
  } finally {
    current.loadingOlder = false;
    renderOlderButton();
  }
}

/** After a reconnect: whatever arrived while the connection was down, without doubles. */
async function catchUpCurrent() {
  const current = state.current;
  if (!current) return;
  if (!current.loaded) {
    await loadCurrent();
    return;
  }
  let after = current.messages.size ? Math.max(...current.messages.keys()) : 0;
  for (let page = 0; page < 20; page++) {
    const answer = await api(adminPath("messages/"), { query: { session_id: current.id, after, limit: VIEW_SIZE } });
    if (state.current !== current) return;
    answer.messages.forEach((m) => applyMessage(m, "catchup"));
    if (!answer.has_more || answer.messages.length === 0) break;
    after = answer.messages.at(-1).id;
  }
  markRead();
}

function nearBottom() {
  const log = els.log;
  return log.scrollHeight - log.scrollTop - log.clientHeight < 80;
}

function scrollToBottom() {
  els.log.scrollTop = els.log.scrollHeight;
  if (state.current) state.current.atBottom = true;
}

function onLogScroll() {
  const current = state.current;
  if (!current) return;
  current.atBottom = nearBottom();
  if (els.log.scrollTop < 48) loadOlder();
}

// ---------------------------------------------------------------------------------------------
// Messages

function receiptRank(message) {
  let rank = STATUS_RANK[message.status] ?? 0;
  const mark = state.marks.get(message.session_id);
  if (mark) {
    if (message.id <= mark.read) rank = 2;
    else if (message.id <= mark.delivered) rank = Math.max(rank, 1);
  }
  return rank;
}

function senderLabel(message) {
  if (message.sender_type === "store") return h("span", { class: "sr-only" }, "Store: ");
  // The away reply the product sent on the team's behalf (no admin wrote it).
  if (message.automatic) return h("span", { class: "msg-sender", "data-testid": "automatic" }, "Automatic reply");
  if (state.me != null && message.sender_id === state.me) return h("span", { class: "sr-only" }, "You: ");
  return h("span", { class: "msg-sender" }, state.team.get(message.sender_id)?.name || `Admin ${message.sender_id}`);
}

function attachmentNode(message) {
  const url = safeUrl(message.attachment_url);
  if (!url) return null;
  if (message.attachment_type?.startsWith("image/")) {
    const image = h("img", { src: url, alt: "Image attachment", loading: "lazy" });
    image.addEventListener("load", () => {
      if (state.current?.atBottom) scrollToBottom();
    });
    const link = h("a", { class: "attachment", href: url, target: "_blank", rel: "noopener noreferrer" }, image);
    image.addEventListener("error", () => relink(message, image, link));
    return link;
  }
  const label = message.attachment_type === "application/pdf" ? "Download PDF" : "Download attachment";
  return h("a", { class: "attachment attachment-link", href: url, target: "_blank", rel: "noopener noreferrer", download: "" }, label);
}

const relinked = new Map(); // message id -> when its link was last fetched again

/** A picture whose link expired (links last minutes): the message again, with a fresh link. */
async function relink(message, image, link) {
  const now = Date.now();
  if (now - (relinked.get(message.id) || 0) < 60000) return;
  relinked.set(message.id, now);
  try {
    const query = { session_id: message.session_id, after: message.id - 1, limit: 1 };
    const page = await api(adminPath("messages/"), { query });
    const fresh = page.messages.find((m) => m.id === message.id);
    const url = fresh && safeUrl(fresh.attachment_url);
    if (url) {
      image.src = url;
      link.href = url;
    }
  } catch {
    // The picture stays broken; opening the conversation again fetches fresh links.
  }
}

function receiptNode(rank) {
  return h("span", { class: "receipt", "data-testid": "receipt", "data-status": RECEIPT_STATUS[rank] }, RECEIPT_TEXT[rank]);
}

function messageNode(message) {
  const deleted = !!message.deleted_at;
  const bubble = h("div", { class: "bubble" }, deleted
    ? h("p", { class: "msg-content msg-deleted", "data-testid": "content" }, "Message deleted")
    : h("p", { class: "msg-content", "data-testid": "content" }, message.content));
  const attachment = deleted ? null : attachmentNode(message);
  if (attachment) bubble.append(attachment);
  const meta = h("p", { class: "msg-meta" }, timeNode(message.created, "msg-time"));
  if (message.edited_at && !deleted) meta.append(h("span", { class: "edited", "data-testid": "edited" }, "edited"));
  if (message.sender_type === "admin") meta.append(receiptNode(receiptRank(message)));
  if (message.edited_at || deleted) {
    meta.append(h("button", { type: "button", class: "link-button", "data-testid": "history", onclick: () => showHistory(message) }, "History"));
  }
  if (mayRevise(message)) {
    meta.append(
      h("button", { type: "button", class: "link-button", "data-testid": "edit", onclick: () => startEdit(message) }, "Edit"),
      h("button", { type: "button", class: "link-button", "data-testid": "delete", onclick: (event) => confirmDelete(message, event.currentTarget) }, "Delete"));
  }
  return h("li", {
    class: "msg",
    "data-testid": "message",
    "data-message-id": message.id,
    "data-sender": message.sender_type,
    "data-created": message.created,
  }, senderLabel(message), bubble, meta);
}

/** Where a message with this id belongs: before the first newer one, else before any pending. */
function insertionPoint(id) {
  for (const node of els.messages.children) {
    if (node.dataset.pending === "true" || Number(node.dataset.messageId) > id) return node;
  }
  return null;
}

function updateReceipt(message) {
  const node = state.current?.nodes.get(message.id);
  const receipt = node?.querySelector('[data-testid="receipt"]');
  if (!receipt) return;
  const rank = receiptRank(message);
  if (receipt.dataset.status !== RECEIPT_STATUS[rank]) receipt.replaceWith(receiptNode(rank));
}

/** How far its sender has revised a message: a delete is final, a later edit newer. */
function revisionRank(message) {
  if (message.deleted_at) return Infinity;
  return message.edited_at ? Date.parse(message.edited_at) : 0;
}

/** Shows a message in the open conversation, keyed by id so every source lands once. */
function showMessage(message) {
  const current = state.current;
  const old = current.messages.get(message.id);
  // A view fetched before an edit must not roll it back.
  const latest = old && revisionRank(old) > revisionRank(message) ? { ...old, status: message.status } : message;
  const merged = old && STATUS_RANK[old.status] > STATUS_RANK[latest.status] ? { ...latest, status: old.status } : latest;
  current.messages.set(message.id, merged);
  if (current.nodes.has(message.id)) {
    if (old && revisionRank(merged) > revisionRank(old)) {
      // Edited or deleted: shown anew.
      const node = messageNode(merged);
      current.nodes.get(message.id).replaceWith(node);
      current.nodes.set(message.id, node);
      return false;
    }
    // Otherwise only its status moves; a rebuild would reload images.
    updateReceipt(merged);
    return false;
  }
  const node = messageNode(merged);
  current.nodes.set(message.id, node);
  els.messages.insertBefore(node, insertionPoint(message.id));
  return true;
}

/**
 * One entry point for every message, whatever brought it: "answer" (this tab's send),
 * "event", "view", "older" or "catchup".
 */
function applyMessage(message, source) {
  // An edit or a delete of a message not on screen waits until it is loaded, as it then is.
  if (source === "update" && !state.current?.messages.has(message.id)) {
    noteMessageInList(message);
    renderList();
    return;
  }
  if (source === "event" || source === "catchup") adoptPending(message);
  if (source !== "older") noteMessageInList(message);
  const current = state.current;
  if (current?.id === message.session_id) {
    const stick = current.atBottom || nearBottom();
    const added = showMessage(message);
    if (added && source !== "older" && source !== "view") {
      if (message.sender_type === "store") hidePeerTyping();
      if (stick || source === "answer") scrollToBottom();
    }
    if (message.sender_type === "store" && source !== "view" && source !== "older") markRead();
  }
  renderList();
}

function applyReceipt(event) {
  if (event.reader_type !== "store") return;
  const mark = state.marks.get(event.session_id) ?? { delivered: 0, read: 0 };
  if (event.status === "read") mark.read = Math.max(mark.read, event.up_to_message_id);
  mark.delivered = Math.max(mark.delivered, event.up_to_message_id);
  state.marks.set(event.session_id, mark);
  const current = state.current;
  if (current?.id !== event.session_id) return;
  for (const message of current.messages.values()) {
    if (message.sender_type === "admin" && message.id <= event.up_to_message_id) updateReceipt(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Editing and deleting this admin's own messages, and what they said before

function mayRevise(message) {
  return message.sender_type === "admin" && state.me != null && message.sender_id === state.me && !message.automatic
    && !message.deleted_at && Date.now() - Date.parse(message.created) < state.editWindowMs;
}

function rebuildMessage(id) {
  const current = state.current;
  const message = current?.messages.get(id);
  const node = current?.nodes.get(id);
  if (!message || !node) return;
  const fresh = messageNode(message);
  node.replaceWith(fresh);
  current.nodes.set(id, fresh);
}

async function revise(message, kind, body) {
  try {
    const revised = await api(adminPath(`messages/${kind}/`), {
      method: "POST", body: { session_id: message.session_id, message_id: message.id, ...body },
    });
    applyMessage(revised, "update");
    return true;
  } catch (error) {
    showError(error);
    return false;
  }
}

function startEdit(message) {
  const node = state.current?.nodes.get(message.id);
  const content = node?.querySelector('[data-testid="content"]');
  if (!content) return;
  const field = h("textarea", { class: "msg-edit-input", rows: "2", maxlength: "4000", "aria-label": "Edit your message", "data-testid": "edit-input" });
  field.value = message.content;
  const editor = h("form", { class: "msg-editor", "data-testid": "edit-form" }, field,
    h("span", { class: "msg-editor-actions" },
      h("button", { type: "button", class: "button", onclick: () => rebuildMessage(message.id) }, "Cancel"),
      h("button", { type: "submit", class: "button button-primary", "data-testid": "edit-save" }, "Save")));
  editor.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = field.value.trim();
    if (text === message.content || !(await revise(message, "edit", { content: text }))) rebuildMessage(message.id);
  });
  field.addEventListener("keydown", (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      rebuildMessage(message.id);
      els.input.focus();
    } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      editor.requestSubmit();
    }
  });
  content.replaceWith(editor);
  field.focus();
}

/** A delete asks once, in place: the store sees that something was deleted. */
function confirmDelete(message, button) {
  const ask = h("span", { class: "msg-confirm", role: "group", "aria-label": "Delete this message?" },
    "Delete for both sides? ",
    h("button", { type: "button", class: "link-button danger", "data-testid": "confirm-delete", onclick: () => revise(message, "delete", {}) }, "Delete"),
    h("button", { type: "button", class: "link-button", onclick: () => rebuildMessage(message.id) }, "Keep"));
  button.replaceWith(ask);
  ask.querySelector("button").focus();
}

function revisionAuthor(revision) {
  if (revision.by_type === "store") return currentSession()?.store?.name || "the store";
  return revision.by_id === state.me ? "you" : adminName(revision.by_id);
}

async function showHistory(message) {
  try {
    const trail = await api(adminPath("messages/history/"), { query: { session_id: message.session_id, message_id: message.id } });
    els.historyList.replaceChildren(...trail.revisions.map((revision) => h("li", { class: "history-entry", "data-testid": "history-entry" },
      h("p", { class: "history-what" }, `${revision.action === "deleted" ? "Deleted" : "Edited"} by ${revisionAuthor(revision)}, `,
        timeNode(revision.at, "msg-time")),
      h("p", { class: "history-before" }, h("span", { class: "muted" }, "Before: "),
        revision.previous_content || (revision.previous_attachment_type ? "(a file)" : "(no text)")))));
    els.historyDialog.showModal();
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Private notes: in the conversation's timeline, marked, for the team only

function noteNode(note) {
  const author = note.admin_id === state.me ? "You" : adminName(note.admin_id);
  return h("li", { class: "note", "data-testid": "note", "data-note-id": note.id, "data-created": note.created },
    h("p", { class: "note-label" }, h("span", { class: "note-badge" }, "Private note"), ` ${author} · only the team sees this`),
    h("p", { class: "msg-content", "data-testid": "note-content" }, note.content),
    h("p", { class: "msg-meta" }, timeNode(note.created, "msg-time")));
}

/** A note in the open conversation, once, in time order among the messages. */
function showNote(note) {
  const current = state.current;
  if (current?.id !== note.session_id || current.notes.has(note.id)) return;
  current.notes.set(note.id, note);
  const at = Date.parse(note.created);
  const stick = current.atBottom || nearBottom();
  const later = [...els.messages.children].find((node) => node.dataset.pending === "true" || Date.parse(node.dataset.created) > at);
  els.messages.insertBefore(noteNode(note), later ?? null);
  if (stick) scrollToBottom();
}

async function loadNotes(current) {
  try {
    const list = await api(adminPath("notes/"), { query: { session_id: current.id } });
    if (state.current === current) list.notes.forEach(showNote);
  } catch (error) {
    if (state.current === current) showError(error);
  }
}

async function addNote() {
  const session = currentSession();
  const content = els.input.value.trim();
  if (!session || !content) return;
  els.send.disabled = true;
  // Cleared at once, as a reply is: what is typed while the note is saved is the next one.
  els.input.value = "";
  state.drafts.delete(session.id);
  try {
    const note = await api(adminPath("notes/"), { method: "POST", body: { session_id: session.id, content } });
    showNote(note);
    scrollToBottom();
  } catch (error) {
    // Not written: the note comes back to be sent again, unless something new was typed.
    if (state.current?.id !== session.id) state.drafts.set(session.id, { text: content, note: true });
    else if (!els.input.value) {
      els.input.value = content;
      // Back as the note it was, never as a reply.
      els.modeNote.checked = true;
      state.current.noteChosen = true;
      renderComposerState(session);
    }
    showError(error);
  } finally {
    els.send.disabled = false;
  }
}

// ---------------------------------------------------------------------------------------------
// The store's context

async function loadContext(current, storeId) {
  if (storeId == null) return;
  try {
    const context = await api(adminPath("store/"), { query: { store_id: storeId } });
    if (state.current === current) renderStoreContext(els.context, context, { currentId: current.id, open: openSession, adminName });
  } catch (error) {
    if (state.current === current) els.context.replaceChildren(h("p", { class: "muted" }, `The store's context could not be loaded: ${error.message}`));
  }
}

// ---------------------------------------------------------------------------------------------
// Read marks

function mayAct(session) {
  return session && (session.status === "open" || state.me == null || session.admin_id === state.me);
}

function markRead() {
  const current = state.current;
  if (!current?.loaded || !isVisible() || !mayAct(currentSession())) return;
  let newest = 0;
  for (const message of current.messages.values()) {
    if (message.sender_type === "store" && message.id > newest) newest = message.id;
  }
  const posted = state.readPosted.get(current.id) ?? 0;
  if (newest <= posted) return;
  const sessionId = current.id;
  state.readPosted.set(sessionId, newest);
  setUnread(sessionId, 0);
  api(adminPath("session/read/"), { method: "POST", body: { session_id: sessionId, up_to_message_id: newest } })
    .then((receipt) => {
      const now = state.readPosted.get(sessionId) ?? 0;
      state.readPosted.set(sessionId, Math.max(now, receipt.up_to_message_id));
    })
    .catch((error) => {
      // Allow the next trigger to try again.
      if (state.readPosted.get(sessionId) === newest) state.readPosted.set(sessionId, posted);
      if (!isTransient(error)) showError(error);
    });
}

// ---------------------------------------------------------------------------------------------
// Sending: an outbox of pending messages, sent in order, retried with the same id

function pendingNode(item) {
  const bubble = h("div", { class: "bubble" }, h("p", { class: "msg-content", "data-testid": "content" }, item.content));
  if (item.file) bubble.append(h("span", { class: "attachment" }, `Attachment: ${item.file.name}`));
  const text = {
    sending: item.file && !item.uploadId ? "Uploading…" : "Sending…",
    waiting: item.held ? "Waiting: a minute's messages were sent, the rest follow" : "Waiting for the connection…",
    failed: `Not sent: ${item.error}`,
  }[item.state];
  const meta = h("p", { class: "msg-meta" }, h("span", { class: "pending-state", "data-state": item.state }, text));
  if (item.state === "failed") {
    meta.append(h("span", { class: "pending-actions" },
      h("button", { type: "button", class: "button", onclick: () => retryItem(item) }, "Retry"),
      h("button", { type: "button", class: "button button-quiet", onclick: () => discardItem(item) }, "Discard")));
  }
  return h("li", {
    class: "msg",
    "data-testid": "message",
    "data-pending": "true",
    "data-sender": "admin",
    "data-client-message-id": item.cmid,
  }, h("span", { class: "sr-only" }, "You (pending): "), bubble, meta);
}

function renderPending(item) {
  const current = state.current;
  if (current?.id !== item.sessionId) return;
  const old = current.pendingNodes.get(item.cmid);
  const gone = !state.outbox.includes(item) || item.adoptedId != null;
  if (gone) {
    old?.remove();
    current.pendingNodes.delete(item.cmid);
    return;
  }
  const node = pendingNode(item);
  if (old) old.replaceWith(node);
  else els.messages.append(node);
  current.pendingNodes.set(item.cmid, node);
}

/**
 * The event of this tab's own send may come before its answer, or instead of an answer lost on
 * the way back; show the message once, while the send still settles under its own id.
 */
function adoptPending(message) {
  if (message.sender_type !== "admin" || (state.me != null && message.sender_id !== state.me)) return;
  const item = state.outbox.find((p) =>
    p.sessionId === message.session_id && (p.state === "sending" || p.state === "waiting") && p.adoptedId == null &&
    p.content === message.content && !!p.file === !!message.attachment_url);
  if (!item) return;
  item.adoptedId = message.id;
  renderPending(item);
}

function enqueue(item) {
  state.outbox.push(item);
  renderPending(item);
  scrollToBottom();
  flushOutbox();
}

function sendText() {
  if (els.modeNote.checked) {
    addNote();
    return;
  }
  const session = currentSession();
  const content = els.input.value.trim();
  if (!content || !isMine(session)) return;
  els.input.value = "";
  state.drafts.delete(session.id);
  stopTyping();
  enqueue({ cmid: newClientId(), sessionId: session.id, content, file: null, uploadId: null, state: "sending", error: "", adoptedId: null });
}

function sendFile(file) {
  const session = currentSession();
  if (!file || !isMine(session)) return;
  if (!ALLOWED_TYPES.includes(file.type)) {
    showError(`Files of type ${file.type || "unknown"} cannot be sent. Allowed: PNG, JPEG, GIF, WebP, PDF and plain text.`);
    return;
  }
  if (file.size < 1 || file.size > MAX_FILE_BYTES) {
    showError("A file must be between 1 byte and 10 MB.");
    return;
  }
  enqueue({ cmid: newClientId(), sessionId: session.id, content: "", file, uploadId: null, state: "sending", error: "", adoptedId: null });
}

async function uploadFile(item) {
  const { file } = item;
  const upload = await api(adminPath("uploads/"), {
    method: "POST",
    body: { session_id: item.sessionId, file_name: file.name, content_type: file.type, size: file.size },
  });
  // Browsers set the length themselves and refuse to be told it.
  const headers = Object.fromEntries(Object.entries(upload.headers ?? {}).filter(([name]) => !["content-length", "host"].includes(name.toLowerCase())));
  let response;
  try {
    response = await fetch(upload.url, { method: upload.method || "PUT", headers, body: file });
  } catch {
    // With the API reachable, a failed upload is the file store refusing this page (CORS, say):
    // waiting would hold every later message back for nothing.
    if (state.ws?.readyState === WebSocket.OPEN) throw new ApiError("The file could not be uploaded.", 0);
    throw new NetworkError("Network error: the file could not be uploaded.");
  }
  if (!response.ok) throw new ApiError(`The file upload was refused (${response.status}).`, response.status);
  item.uploadId = upload.upload_id;
}

async function deliver(item) {
  if (item.file && !item.uploadId) {
    await uploadFile(item);
    renderPending(item);
  }
  const body = { session_id: item.sessionId, content: item.content, client_message_id: item.cmid };
  if (item.uploadId) body.upload_id = item.uploadId;
  return api(adminPath("messages/"), { method: "POST", body });
}

async function flushOutbox() {
  if (state.flushing) return;
  state.flushing = true;
  clearTimeout(state.sendRetryTimer);
  try {
    for (;;) {
      const item = state.outbox.find((p) => p.state === "sending" || p.state === "waiting");
      if (!item) break;
      if (item.state !== "sending") {
        item.state = "sending";
        renderPending(item);
      }
      try {
        const message = await deliver(item);
        state.outbox.splice(state.outbox.indexOf(item), 1);
        state.sendRetryDelay = 2000;
        renderPending(item);
        applyMessage(message, "answer");
      } catch (error) {
        if (isTransient(error) || error?.status === 429) {
          // Later sends wait behind this one, so the store sees them in order; past the
          // minute's limit, as long as the server asked.
          const held = error?.status === 429;
          for (const behind of state.outbox.filter((p) => p === item || p.state === "sending")) {
            behind.state = "waiting";
            behind.held = held;
            renderPending(behind);
          }
          scheduleSendRetry(held ? (error.retryAfter || 5) * 1000 : undefined);
          break;
        }
        item.state = "failed";
        item.error = error.message;
        item.adoptedId = null;
        renderPending(item);
        showError(error);
      }
    }
  } finally {
    state.flushing = false;
  }
}

function scheduleSendRetry(asked) {
  clearTimeout(state.sendRetryTimer);
  if (asked) {
    state.sendRetryTimer = setTimeout(flushOutbox, asked);
    return;
  }
  state.sendRetryTimer = setTimeout(flushOutbox, state.sendRetryDelay);
  state.sendRetryDelay = Math.min(state.sendRetryDelay * 2, SEND_RETRY_MAX_MS);
}

function retryItem(item) {
  item.state = "sending";
  item.error = "";
  renderPending(item);
  flushOutbox();
}

function discardItem(item) {
  state.outbox.splice(state.outbox.indexOf(item), 1);
  renderPending(item);
}

// ---------------------------------------------------------------------------------------------
// Typing indicators

function onComposerInput() {
  const session = currentSession();
  if (!isMine(session) || els.modeNote.checked) return;
  const typing = state.typing;
  const now = Date.now();
  if (typing.sessionId !== session.id || now - typing.lastOn >= TYPING_REPEAT_MS) {
    if (typing.sessionId != null && typing.sessionId !== session.id) stopTyping();
    wsSend({ action: "typing", session_id: session.id, state: "on" });
    typing.sessionId = session.id;
    typing.lastOn = now;
  }
  clearTimeout(typing.idleTimer);
  typing.idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
}

function stopTyping() {
  const typing = state.typing;
  clearTimeout(typing.idleTimer);
  if (typing.sessionId == null) return;
  wsSend({ action: "typing", session_id: typing.sessionId, state: "off" });
  typing.sessionId = null;
  typing.lastOn = 0;
}

function applyTyping(event) {
  if (event.sender_type !== "store" || state.current?.id !== event.session_id) return;
  if (event.state !== "on") {
    hidePeerTyping();
    return;
  }
  els.typing.hidden = false;
  clearTimeout(state.peerTypingTimer);
  state.peerTypingTimer = setTimeout(hidePeerTyping, PEER_TYPING_TIMEOUT_MS);
}

function hidePeerTyping() {
  clearTimeout(state.peerTypingTimer);
  els.typing.hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Session actions

async function withBusy(button, action) {
  button.disabled = true;
  try {
    return await action();
  } catch (error) {
    showError(error);
    return null;
  } finally {
    button.disabled = false;
    renderConversationHead();
  }
}

async function sessionAction(kind, body) {
  const session = await api(adminPath(`session/${kind}/`), { method: "POST", body });
  if (state.me == null && session.admin_id != null && kind === "claim") state.me = session.admin_id;
  applySessionUpdate(session);
  // The admin's own claim, close or transfer moves loads: shown at once, not after a pause.
  if (kind !== "tags") loadTeam().catch(() => {});
  return session;
}

/** After the admin's own claim or close, the list follows the conversation to its new tab. */
function followToTab(session) {
  const tab = session && tabOf(session);
  if (tab && tab !== state.tab) selectTab(tab);
}

async function claimCurrent() {
  const id = state.current?.id;
  if (id == null) return;
  followToTab(await withBusy(els.claim, () => sessionAction("claim", { session_id: id })));
  if (state.current?.id === id && !els.input.disabled) els.input.focus();
}

/** Closing cannot be undone: it is confirmed first. */
function closeCurrent() {
  if (state.current?.id == null) return;
  els.closeDialog.returnValue = "";
  els.closeDialog.showModal();
}

async function closeConfirmed() {
  const id = state.current?.id;
  if (els.closeDialog.returnValue !== "close" || id == null) return;
  followToTab(await withBusy(els.close, () => sessionAction("close", { session_id: id })));
}

async function transferCurrent(event) {
  event.preventDefault();
  const id = state.current?.id;
  if (id == null) return;
  const raw = els.transferInput.value;
  const adminId = raw === "" ? null : Number(raw);
  await withBusy(els.transfer, () => sessionAction("transfer", { session_id: id, admin_id: adminId }));
}

// ---------------------------------------------------------------------------------------------
// The team: presence, load, and whom a session can be handed to

async function loadTeam() {
  const { admins, edit_window_seconds: editWindow } = await api(adminPath("directory/"));
  state.team = new Map(admins.map((admin) => [admin.admin_id, admin]));
  renderTeam();
  state.reports.teamChanged();
  const windowChanged = Number.isInteger(editWindow) && editWindow * 1000 !== state.editWindowMs;
  if (windowChanged) state.editWindowMs = editWindow * 1000;
  const session = currentSession();
  if (session) renderConversationHead();
  if (windowChanged) for (const id of [...(state.current?.nodes.keys() ?? [])]) rebuildMessage(id);
}

/** Loads change with every claim and close: the directory is read again, once per burst. */
function scheduleTeamRefresh() {
  clearTimeout(state.teamRefreshTimer);
  state.teamRefreshTimer = setTimeout(() => loadTeam().catch(() => {}), 1000);
}

function teamInOrder() {
  return [...state.team.values()].sort(
    (a, b) => PRESENCE_ORDER[a.presence] - PRESENCE_ORDER[b.presence] || a.name.localeCompare(b.name),
  );
}

function renderTeam() {
  els.team.replaceChildren(
    ...teamInOrder().map((admin) =>
      h("li", { class: "team-member", "data-admin-id": admin.admin_id, "data-presence": admin.presence, "data-testid": "team-member" },
        h("span", { class: "presence-dot", "aria-hidden": "true" }),
        h("span", { class: "team-name" }, admin.admin_id === state.me ? `${admin.name} (you)` : admin.name),
        h("span", { class: "team-state" }, `${PRESENCE_TEXT[admin.presence]} · ${admin.load}/${admin.capacity}`)),
    ),
  );
  const mine = state.team.get(state.me);
  if (mine && mine.presence !== "offline" && document.activeElement !== els.availability) {
    els.availability.value = mine.presence;
  }
}

/** Whom the session on screen can be handed to, by name: available admins first. */
function renderTransferOptions(session) {
  const chosen = els.transferInput.value;
  const others = teamInOrder().filter((admin) => admin.admin_id !== session.admin_id);
  const options = [h("option", { value: "" }, session.status === "open" ? "Choose an admin" : "The queue (anyone)")];
  for (const admin of others) {
    const label = `${admin.admin_id === state.me ? "Me" : admin.name} — ${PRESENCE_TEXT[admin.presence].toLowerCase()}, ${admin.load}/${admin.capacity}`;
    options.push(h("option", { value: String(admin.admin_id) }, label));
  }
  els.transferInput.replaceChildren(...options);
  if ([...els.transferInput.options].some((option) => option.value === chosen)) els.transferInput.value = chosen;
}

function applyPresence(event) {
  const known = state.team.get(event.admin_id);
  if (!known) {
    loadTeam().catch(() => {});
    return;
  }
  state.team.set(event.admin_id, { ...known, name: event.name, presence: event.presence });
  renderTeam();
  const session = currentSession();
  if (session) renderTransferOptions(session);
}

async function setAvailability() {
  const availability = els.availability.value;
  try {
    const entry = await api(adminPath("presence/"), { method: "POST", body: { availability } });
    state.team.set(entry.admin_id, entry);
    if (state.me == null) state.me = entry.admin_id;
    renderTeam();
  } catch (error) {
    showError(error);
  }
}

/** Connected again as available: says so, so that what waits is given to this admin now
 * (its connection's own `$connect` cannot be posted to, so it assigns nothing). */
async function announceAvailable() {
  if (state.team.get(state.me)?.presence !== "available") return;
  const entry = await api(adminPath("presence/"), { method: "POST", body: { availability: "available" } });
  state.team.set(entry.admin_id, entry);
  renderTeam();
}

/** A session given to this admin (not claimed by it here) while it looked elsewhere: the
 * title counts them, and the system says so when permitted. */
function noticeAssigned(session) {
  if (isVisible()) return;
  state.unseenAssigned += 1;
  renderTitle();
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification("New conversation for you", { body: session.store?.name || `Store ${session.store_id}`, tag: `session-${session.id}` });
  }
}

function parseTags(text) {
  const tags = [...new Set(text.split(/[\s,]+/).map((t) => t.trim().toLowerCase()).filter(Boolean))];
  const bad = tags.find((t) => !TAG_PATTERN.test(t));
  if (bad) throw new Error(`“${bad}” is not a valid tag: use a–z, 0–9, _ and -, up to 32 characters.`);
  if (tags.length > MAX_TAGS) throw new Error(`At most ${MAX_TAGS} tags.`);
  return tags;
}

async function saveTags(event) {
  event.preventDefault();
  const id = state.current?.id;
  if (id == null) return;
  let tags;
  try {
    tags = parseTags(els.tagsInput.value);
  } catch (error) {
    showError(error);
    return;
  }
  const done = await withBusy(els.tagsSave, () => sessionAction("tags", { session_id: id, tags }));
  if (done && state.current?.id === id) {
    els.tagsInput.dataset.dirty = "false";
    renderTags(done);
  }
}

function applySessionUpdate(incoming) {
  const before = state.sessions.get(incoming.id);
  const session = upsertSession(incoming);
  if (isMine(session) && before?.admin_id !== session.admin_id) noticeAssigned(session);
  if (before?.status !== session.status || before?.admin_id !== session.admin_id) scheduleTeamRefresh();
  // Until this admin's id is known, a claim seen in an event could be anyone's; the list of
  // claimed sessions says which are this admin's.
  if (state.me == null && session.status !== "open" && session.admin_id != null) scheduleListRefresh();
  if (state.current?.id === session.id) {
    renderConversationHead();
    if (before?.status !== session.status || before?.admin_id !== session.admin_id) markRead();
  }
  renderList();
}

// ---------------------------------------------------------------------------------------------
// WebSocket

function wsSend(frame) {
  if (state.ws?.readyState === WebSocket.OPEN) state.ws.send(JSON.stringify(frame));
}

function connect() {
  clearTimeout(state.wsTimer);
  if (!state.config.ws) {
    setConnection("offline");
    return;
  }
  setConnection(state.wsEverOpen ? "reconnecting" : "connecting");
  let socket;
  try {
    const url = new URL(state.config.ws);
    url.searchParams.set("token", state.config.token);
    socket = new WebSocket(url);
  } catch (error) {
    showError(`Cannot open the WebSocket: ${error.message}`);
    setConnection("offline");
    return;
  }
  state.ws = socket;
  socket.addEventListener("open", () => onSocketOpen(socket));
  socket.addEventListener("message", (event) => onSocketMessage(event.data));
  socket.addEventListener("close", () => onSocketClose(socket));
}

function onSocketOpen(socket) {
  if (state.ws !== socket) return;
  state.retiring?.close();
  state.retiring = null;
  state.wsAttempt = 0;
  state.wsEverOpen = true;
  setConnection("connected");
  resync();
  flushOutbox();
}

function onSocketClose(socket) {
  if (state.ws !== socket) return;
  state.ws = null;
  state.typing.sessionId = null;
  setConnection("reconnecting");
  const delay = Math.min(1000 * 2 ** state.wsAttempt, RECONNECT_MAX_MS);
  state.wsAttempt += 1;
  state.wsTimer = setTimeout(connect, delay);
}

function onSocketMessage(data) {
  let event;
  try {
    event = JSON.parse(data);
  } catch {
    return;
  }
  switch (event.type) {
    case "message.created":
      applyMessage(event.message, "event");
      break;
    case "message.updated":
      applyMessage(event.message, "update");
      break;
    case "note.created":
      showNote(event.note);
      break;
    case "message.status":
      applyReceipt(event);
      break;
    case "session.updated":
      applySessionUpdate(event.session);
      break;
    case "typing":
      applyTyping(event);
      break;
    case "admin.presence":
      applyPresence(event);
      break;
    case "error":
      showError(event.error);
      break;
    default:
      break;
  }
}

/** Events may have been missed while the connection was down: refetch, merging by id. */
async function resync() {
  try {
    await Promise.all([refreshLists(), loadTeam()]);
    await Promise.all([announceAvailable(), catchUpCurrent()]);
  } catch (error) {
    showError(error);
  }
}

// ---------------------------------------------------------------------------------------------
// The views: the conversations, or the team's reports at `#reports`. The address says which,
// so that Back returns from the reports and a link opens them.

function showView({ focus = false } = {}) {
  const reports = location.hash === "#reports" && state.config != null;
  els.app.hidden = reports;
  els.reports.hidden = !reports;
  els.viewConversations.setAttribute("aria-current", reports ? "false" : "page");
  els.viewReports.setAttribute("aria-current", reports ? "page" : "false");
  // Shown afresh each time: the figures move with every conversation.
  if (reports) state.reports.show({ focus });
}

// ---------------------------------------------------------------------------------------------
// Start-up

function normalizeConfig(raw) {
  const api = String(raw.api || "").trim().replace(/\/+$/, "");
  const ws = String(raw.ws || "").trim();
  const adminId = raw.adminId === "" || raw.adminId == null ? null : Number(raw.adminId);
  const tokenUrl = String(raw.tokenUrl || "").trim() || null;
  return { api, ws, token: String(raw.token || "").trim(), tokenUrl, adminId: Number.isInteger(adminId) ? adminId : null };
}

async function resolveConfig() {
  const query = new URLSearchParams(location.search);
  const given = {
    api: query.get("api"), ws: query.get("ws"), token: query.get("token"), tokenUrl: query.get("token_url"), adminId: query.get("admin_id"),
  };
  if (query.has("token")) {
    // Out of the address bar (and the history) once read.
    query.delete("token");
    history.replaceState(null, "", `${location.pathname}${query.size ? `?${query}` : ""}${location.hash}`);
  }
  if (given.api && (given.token || given.tokenUrl)) return normalizeConfig(given);
  try {
    const response = await fetch("/config.json", { cache: "no-store" });
    if (response.ok) {
      const demo = await response.json();
      return normalizeConfig({
        api: given.api || demo.api,
        ws: given.ws || demo.ws,
        token: given.token || (given.tokenUrl ? null : demo.admin_token),
        tokenUrl: given.tokenUrl || demo.token_url,
        adminId: given.adminId ?? demo.admin_id,
      });
    }
  } catch {
    // No demo configuration here: ask instead.
  }
  return null;
}

/** The sign-in form, filled in with what is known (the APIs' addresses from config.json). */
function askForConfig(known) {
  if (known?.api) $("signin-api").value = known.api;
  if (known?.ws) $("signin-ws").value = known.ws;
  if (known?.adminId != null) $("signin-admin").value = String(known.adminId);
  els.sidebar.hidden = true;
  els.views.hidden = true;
  els.app.classList.add("no-sidebar");
  els.placeholder.hidden = true;
  els.signin.hidden = false;
  setConnection("offline");
  els.signin.addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(els.signin);
    els.signin.hidden = true;
    els.sidebar.hidden = false;
    els.views.hidden = false;
    els.app.classList.remove("no-sidebar");
    els.placeholder.hidden = false;
    start(normalizeConfig({ api: form.get("api"), ws: form.get("ws"), token: form.get("token"), adminId: form.get("admin_id") }));
  }, { once: true });
  $(known?.api ? "signin-token" : "signin-api").focus();
}

async function start(config) {
  state.config = config;
  state.me = config.adminId;
  if (config.tokenUrl) {
    try {
      await fetchToken();
    } catch (error) {
      showError(error);
      return;
    }
  }
  connect();
  refreshLists().catch(showError);
  state.replies.load();
  showView();
  setInterval(() => wsSend({ action: "ping" }), PING_EVERY_MS);
}

function wireUi() {
  // Before the composer's own keys: the picker takes Enter while it is open.
  state.replies = savedReplies({
    api,
    input: els.input,
    picker: els.replyPicker,
    dialog: els.repliesDialog,
    names: () => ({ store_name: currentSession()?.store?.name ?? "", admin_name: state.team.get(state.me)?.name ?? "" }),
    onError: showError,
  });
  els.manageReplies.addEventListener("click", () => state.replies.openManager());
  state.reports = reportsView({ api, root: els.reports, team: () => state.team });
  window.addEventListener("hashchange", () => showView({ focus: true }));
  for (const radio of [els.modeReply, els.modeNote]) {
    radio.addEventListener("change", () => {
      if (state.current) state.current.noteChosen = els.modeNote.checked;
      const session = currentSession();
      if (session) renderComposerState(session);
      els.input.focus();
    });
  }
  els.search.addEventListener("submit", runSearch);
  els.searchClear.addEventListener("click", clearSearch);
  els.alertDismiss.addEventListener("click", dismissAlert);
  for (const tab of els.tabs) {
    tab.addEventListener("click", () => selectTab(tab.dataset.tab));
    tab.addEventListener("keydown", onTabKey);
  }
  els.listMore.addEventListener("click", loadMoreSessions);
  els.back.addEventListener("click", () => {
    els.app.classList.remove("show-conversation");
    listNodes.get(state.current?.id)?.firstChild.focus();
  });
  els.claim.addEventListener("click", claimCurrent);
  els.close.addEventListener("click", closeCurrent);
  els.closeDialog.addEventListener("close", closeConfirmed);
  els.availability.addEventListener("change", setAvailability);
  els.transferForm.addEventListener("submit", transferCurrent);
  els.tagsForm.addEventListener("submit", saveTags);
  els.tagsInput.addEventListener("input", () => { els.tagsInput.dataset.dirty = "true"; });
  els.older.addEventListener("click", loadOlder);
  els.log.addEventListener("scroll", onLogScroll, { passive: true });
  els.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    sendText();
  });
  els.input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendText();
    }
  });
  els.input.addEventListener("input", onComposerInput);
  els.attach.addEventListener("change", () => {
    const [file] = els.attach.files;
    els.attach.value = "";
    sendFile(file);
  });
  document.addEventListener("visibilitychange", () => {
    if (!isVisible()) return;
    markRead();
    state.unseenAssigned = 0;
    renderTitle();
  });
  // Asked once, on the admin's first gesture: browsers refuse to ask without one.
  document.addEventListener("pointerdown", () => {
    if ("Notification" in window && Notification.permission === "default") Notification.requestPermission().catch(() => {});
  }, { once: true });
  window.addEventListener("online", () => {
    flushOutbox();
    if (!state.ws && state.config?.ws) connect();
  });
  window.addEventListener("pagehide", stopTyping);
}

async function main() {
  wireUi();
  const config = await resolveConfig();
  // Deployed, config.json names the APIs but no token: the admin signs in with its own.
  if (config?.api && (config.token || config.tokenUrl)) start(config);
  else askForConfig(config);
}

main();
