// Saved replies: typing `/` and a shortcut in the composer offers the team's and the admin's
// own; Arrow keys choose, Enter or Tab inserts one with the store's and the admin's names
// filled in, Escape leaves the text as typed. A dialog writes, edits and deletes them.

import { h } from "./dom.js";

const SHORTCUT = /^[a-z0-9_-]{1,32}$/;
const MAX_SHOWN = 8;

/**
 * Wires the picker to `input` (a textarea) and the manager to `dialog`.
 * `names()` answers `{ store_name, admin_name }` for the conversation on screen.
 */
export function savedReplies({ api, input, picker, dialog, names, onError }) {
  let replies = [];
  let offered = []; // the replies the picker shows
  let active = 0;
  let token = null; // { start, end } of the `/shortcut` being typed

  let loads = 0; // loads asked for: only the last one's answer is kept
  async function load() {
    const asked = ++loads;
    try {
      const answer = (await api("/v1/chat/admin/replies/")).replies;
      // An earlier load answered late would bring back what a save since replaced.
      if (asked === loads) replies = answer;
    } catch (error) {
      onError(error);
    }
    if (asked === loads) renderManager();
  }

  /** The `/shortcut` right before the caret, if one is being typed. */
  function typedToken() {
    const caret = input.selectionStart;
    if (caret !== input.selectionEnd) return null;
    const match = /(^|\s)\/([a-z0-9_-]{0,32})$/.exec(input.value.slice(0, caret));
    if (!match) return null;
    return { start: caret - match[2].length - 1, end: caret, typed: match[2] };
  }

  function close() {
    picker.hidden = true;
    picker.replaceChildren();
    offered = [];
    token = null;
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", "false");
  }

  function render() {
    picker.replaceChildren(...offered.map((reply, index) => h("li", {
      id: `reply-option-${index}`,
      role: "option",
      class: "reply-option",
      "data-testid": "reply-option",
      "aria-selected": String(index === active),
      onmousedown: (event) => {
        event.preventDefault();
        insert(reply);
      },
    }, h("span", { class: "reply-shortcut" }, `/${reply.shortcut}`),
    h("span", { class: "reply-scope" }, reply.scope === "team" ? "Team" : "Yours"),
    h("span", { class: "reply-preview" }, reply.content))));
    picker.hidden = offered.length === 0;
    input.setAttribute("aria-expanded", String(!picker.hidden));
    if (picker.hidden) input.removeAttribute("aria-activedescendant");
    else input.setAttribute("aria-activedescendant", `reply-option-${active}`);
  }

  function update() {
    token = typedToken();
    if (!token || input.disabled) {
      close();
      return;
    }
    offered = replies.filter((reply) => reply.shortcut.startsWith(token.typed)).slice(0, MAX_SHOWN);
    active = Math.min(active, Math.max(offered.length - 1, 0));
    render();
  }

  function fill(content) {
    const known = names();
    // Given as functions, so that a name holding `$&` is inserted as it is.
    return content.replaceAll("{store_name}", () => known.store_name).replaceAll("{admin_name}", () => known.admin_name);
  }

  function insert(reply) {
    if (!token) return;
    input.setRangeText(fill(reply.content), token.start, token.end, "end");
    close();
    input.focus();
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function onKey(event) {
    if (picker.hidden || offered.length === 0 || event.isComposing) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (event.key in moves) {
      active = (active + moves[event.key] + offered.length) % offered.length;
      render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      insert(offered[active]);
    } else if (event.key === "Escape") {
      close();
    } else {
      return;
    }
    event.preventDefault();
    event.stopImmediatePropagation();
  }

  input.setAttribute("role", "combobox");
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", picker.id);
  input.setAttribute("aria-expanded", "false");
  input.addEventListener("keydown", onKey);
  input.addEventListener("input", update);
  input.addEventListener("blur", () => setTimeout(close, 0));

  // ---- Writing them.

  const form = h("form", { class: "reply-form", "data-testid": "reply-form" });
  const shortcut = h("input", { id: "reply-shortcut", name: "shortcut", required: true, maxlength: "32", pattern: "[a-z0-9_\\-]{1,32}", autocomplete: "off", spellcheck: "false", "data-testid": "reply-shortcut" });
  const content = h("textarea", { id: "reply-content", name: "content", required: true, maxlength: "4000", rows: "3", "data-testid": "reply-content" });
  const scope = h("select", { id: "reply-scope", name: "scope", "data-testid": "reply-scope" },
    h("option", { value: "personal" }, "Only me"), h("option", { value: "team" }, "The whole team"));
  const list = h("ul", { class: "reply-list", "data-testid": "reply-list" });
  form.append(
    h("label", { for: "reply-shortcut" }, "Shortcut"), shortcut,
    h("label", { for: "reply-content" }, "Text"), content,
    h("p", { class: "hint" }, "{store_name} and {admin_name} are filled in where the reply is inserted."),
    h("label", { for: "reply-scope" }, "For"), scope,
    h("div", { class: "confirm-actions" },
      h("button", { type: "button", class: "button", value: "cancel", onclick: () => dialog.close() }, "Done"),
      h("button", { type: "submit", class: "button button-primary", "data-testid": "reply-save" }, "Save reply")));
  dialog.append(h("h3", { id: "replies-title" }, "Saved replies"),
    h("p", { class: "muted" }, "Type / and a shortcut in a reply to insert one."), list, form);

  function renderManager() {
    list.replaceChildren(...replies.map((reply) => h("li", { class: "reply-row" },
      h("span", { class: "reply-shortcut" }, `/${reply.shortcut}`),
      h("span", { class: "reply-scope" }, reply.scope === "team" ? "Team" : "Yours"),
      h("span", { class: "reply-preview" }, reply.content),
      h("button", { type: "button", class: "button button-quiet", onclick: () => edit(reply) }, "Edit"),
      h("button", { type: "button", class: "button button-quiet", onclick: () => remove(reply) }, "Delete"))));
  }

  function edit(reply) {
    shortcut.value = reply.shortcut;
    content.value = reply.content;
    scope.value = reply.scope;
    content.focus();
  }

  async function remove(reply) {
    try {
      await api("/v1/chat/admin/replies/delete/", { method: "POST", body: { shortcut: reply.shortcut, scope: reply.scope } });
      await load();
    } catch (error) {
      onError(error);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!SHORTCUT.test(shortcut.value)) {
      onError("A shortcut is 1 to 32 of a–z, 0–9, _ and -.");
      return;
    }
    try {
      await api("/v1/chat/admin/replies/", { method: "POST", body: { shortcut: shortcut.value, content: content.value, scope: scope.value } });
      form.reset();
      await load();
      shortcut.focus();
    } catch (error) {
      onError(error);
    }
  });

  return {
    load,
    openManager() {
      renderManager();
      dialog.showModal();
      shortcut.focus();
    },
  };
}
