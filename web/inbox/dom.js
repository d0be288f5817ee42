// Small DOM helpers the inbox's modules share.

/** Builds an element; strings become text nodes, so untrusted text is never parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child != null && child !== false) node.append(child);
  }
  return node;
}

/** Only http(s) links may come from the server's data into an href or src. */
export function safeUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

export function shortTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  const now = new Date();
  if (date.toDateString() === now.toDateString()) {
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }
  const days = (now - date) / 86400000;
  if (days < 6) return date.toLocaleDateString([], { weekday: "short" });
  const sameYear = date.getFullYear() === now.getFullYear();
  return date.toLocaleDateString([], { month: "short", day: "numeric", year: sameYear ? undefined : "numeric" });
}

export function timeNode(iso, className) {
  const date = new Date(iso);
  const full = Number.isNaN(date.getTime()) ? "" : date.toLocaleString();
  return h("time", { class: className, datetime: iso, title: full }, shortTime(iso));
}
