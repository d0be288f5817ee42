// <support-chat>: the store's chat with support, as one dependency-free Web Component.
//
//   <script type="module" src="https://…/widget/support-chat.js"></script>
//   <support-chat api="https://…" ws="wss://…/prod" token="…" open></support-chat>
//
// A short-lived token is renewed before it expires, from a token provider: `token-url`, a
// URL of the embedding site that answers `{token, expires_at}` (its backend mints the token
// with the platform API), or a `tokenProvider` property, an async function answering the
// same. The live connection moves to the new token without missing an event.
//
// It speaks only the public API: the store routes over HTTP (with the store's token) and the
// WebSocket API for live events. A send carries a client_message_id, so a retry after a
// dropped connection never doubles a message; after a reconnection the widget fetches what
// it missed with `after=`.

const MAX_UPLOAD_BYTES = 10 * 1024 * 1024;
const UPLOAD_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain"];
const OLDER_PAGE = 50;
const RANK = { sent: 0, delivered: 1, read: 2 };
// How long after sending the store may edit or delete a message until the availability
// route says the deployment's `EditWindowSeconds` (the server decides; this only hides what
// it would refuse).
const DEFAULT_EDIT_WINDOW_MS = 15 * 60 * 1000;
// Answers worth trying again (with the same client_message_id): a timeout and throttling;
// any 5xx too.
const RETRYABLE = [408, 429];
// API Gateway closes a WebSocket connection after ten idle minutes.
const PING_EVERY_MS = 4 * 60 * 1000;
// A token is renewed this long before it expires (or with a quarter of its life left, if
// that is less): time for a slow provider and a reconnection.
const RENEW_BEFORE_MS = 60 * 1000;

// The widget's words in each language it speaks: `lang="de"` on the element, else the
// store's locale as the platform gave it, else English. A layout for right-to-left scripts
// follows the language tag (`dir`), whatever language the words are in.
const TEXTS = {
  en: {
    launcher: "Chat with us", title: "Support", panel: "Support chat", closeChat: "Close the chat", dismiss: "Dismiss",
    connecting: "Connecting…", connected: "Connected", reconnecting: "Reconnecting…",
    reconnectingBanner: "Reconnecting… messages you send will go out when the connection is back.",
    older: "Loading earlier messages…", conversation: "Conversation", typing: "Support is typing…",
    greeting: "Hi! How can we help?", replySoon: "We usually reply in a few minutes.",
    replyLater: "Everyone is busy right now; we'll reply as soon as we can.",
    awayUntil: (when) => `We're away until ${when}. Leave a message and we'll answer then.`,
    away: "We're away at the moment. Leave a message and we'll answer when we're back.",
    message: "Message", placeholder: "Write a message…", attach: "Attach a file", send: "Send",
    howDidWeDo: "How did we do?", anythingToAdd: "Anything to add? (optional)", sendRating: "Send rating",
    newConversation: "Start a new conversation", closedConversation: "This conversation is closed",
    emailTranscript: "Email me the transcript", transcriptSent: "The transcript is on its way to your inbox.",
    transcriptAlreadySent: "The transcript was already sent to you.", transcriptFailed: "The transcript could not be sent.",
    helping: (name) => `${name} is helping you`, someoneHelping: "Someone from support is helping you",
    nextInLine: "Waiting for support: you're next in line",
    numberInLine: (n) => `Waiting for support: you're number ${n} in line`,
    waiting: "Waiting for someone from support to join", joined: (name) => `${name} joined the conversation`,
    rated: (n) => `You rated this conversation ${n} out of 5. Thank you!`,
    sent: "Sent", delivered: "Delivered", read: "Read", automatic: "Automatic reply",
    picture: "Attached picture", pdf: "Attached PDF", file: "Attached file",
    withMessage: (name) => `${name} will be sent with your message`, sending: "Sending…",
    notSent: "Not sent yet: will retry", uploadFailed: "The file could not be uploaded.",
    fileRefused: "Attach a picture, a PDF or a text file of at most 10 MB.",
    edited: "edited", deletedMessage: "This message was deleted", edit: "Edit", remove: "Delete",
    save: "Save", cancel: "Cancel", confirmDelete: "Delete this message for both sides?", editMessage: "Edit your message",
  },
  de: {
    launcher: "Chatten Sie mit uns", title: "Support", panel: "Support-Chat", closeChat: "Chat schließen", dismiss: "Schließen",
    connecting: "Verbinden …", connected: "Verbunden", reconnecting: "Neu verbinden …",
    reconnectingBanner: "Die Verbindung wird wiederhergestellt … Ihre Nachrichten werden gesendet, sobald sie steht.",
    older: "Ältere Nachrichten werden geladen …", conversation: "Unterhaltung", typing: "Der Support schreibt …",
    greeting: "Hallo! Wie können wir helfen?", replySoon: "Wir antworten meist innerhalb weniger Minuten.",
    replyLater: "Gerade sind alle beschäftigt; wir antworten so bald wie möglich.",
    awayUntil: (when) => `Wir sind bis ${when} nicht da. Schreiben Sie uns, wir antworten dann.`,
    away: "Wir sind gerade nicht da. Schreiben Sie uns, wir antworten, sobald wir zurück sind.",
    message: "Nachricht", placeholder: "Nachricht schreiben …", attach: "Datei anhängen", send: "Senden",
    howDidWeDo: "Wie war unser Support?", anythingToAdd: "Möchten Sie etwas ergänzen? (optional)", sendRating: "Bewertung senden",
    newConversation: "Neue Unterhaltung beginnen", closedConversation: "Diese Unterhaltung ist beendet",
    emailTranscript: "Protokoll per E-Mail senden", transcriptSent: "Das Protokoll ist unterwegs in Ihr Postfach.",
    transcriptAlreadySent: "Das Protokoll wurde Ihnen bereits gesendet.", transcriptFailed: "Das Protokoll konnte nicht gesendet werden.",
    helping: (name) => `${name} hilft Ihnen`, someoneHelping: "Jemand vom Support hilft Ihnen",
    nextInLine: "Warten auf den Support: Sie sind als Nächstes dran",
    numberInLine: (n) => `Warten auf den Support: Sie sind Nummer ${n} in der Warteschlange`,
    waiting: "Warten, bis jemand vom Support dazukommt", joined: (name) => `${name} ist der Unterhaltung beigetreten`,
    rated: (n) => `Sie haben diese Unterhaltung mit ${n} von 5 bewertet. Danke!`,
    sent: "Gesendet", delivered: "Zugestellt", read: "Gelesen", automatic: "Automatische Antwort",
    picture: "Angehängtes Bild", pdf: "Angehängtes PDF", file: "Angehängte Datei",
    withMessage: (name) => `${name} wird mit Ihrer Nachricht gesendet`, sending: "Wird gesendet …",
    notSent: "Noch nicht gesendet: neuer Versuch folgt", uploadFailed: "Die Datei konnte nicht hochgeladen werden.",
    fileRefused: "Hängen Sie ein Bild, ein PDF oder eine Textdatei von höchstens 10 MB an.",
    edited: "bearbeitet", deletedMessage: "Diese Nachricht wurde gelöscht", edit: "Bearbeiten", remove: "Löschen",
    save: "Speichern", cancel: "Abbrechen", confirmDelete: "Diese Nachricht für beide Seiten löschen?", editMessage: "Nachricht bearbeiten",
  },
  fr: {
    launcher: "Discutons", title: "Assistance", panel: "Chat d'assistance", closeChat: "Fermer le chat", dismiss: "Fermer",
    connecting: "Connexion…", connected: "Connecté", reconnecting: "Reconnexion…",
    reconnectingBanner: "Reconnexion… vos messages partiront dès le retour de la connexion.",
    older: "Chargement des messages précédents…", conversation: "Conversation", typing: "L'assistance écrit…",
    greeting: "Bonjour ! Comment pouvons-nous vous aider ?", replySoon: "Nous répondons généralement en quelques minutes.",
    replyLater: "Toute l'équipe est occupée ; nous vous répondrons dès que possible.",
    awayUntil: (when) => `Nous sommes absents jusqu'à ${when}. Laissez un message, nous vous répondrons à notre retour.`,
    away: "Nous sommes absents pour le moment. Laissez un message, nous vous répondrons à notre retour.",
    message: "Message", placeholder: "Écrivez un message…", attach: "Joindre un fichier", send: "Envoyer",
    howDidWeDo: "Comment était notre aide ?", anythingToAdd: "Quelque chose à ajouter ? (facultatif)", sendRating: "Envoyer la note",
    newConversation: "Commencer une nouvelle conversation", closedConversation: "Cette conversation est terminée",
    emailTranscript: "Recevoir la transcription par e-mail", transcriptSent: "La transcription est en route vers votre boîte mail.",
    transcriptAlreadySent: "La transcription vous a déjà été envoyée.", transcriptFailed: "La transcription n'a pas pu être envoyée.",
    helping: (name) => `${name} vous aide`, someoneHelping: "Quelqu'un de l'assistance vous aide",
    nextInLine: "En attente de l'assistance : vous êtes le prochain",
    numberInLine: (n) => `En attente de l'assistance : vous êtes numéro ${n} dans la file`,
    waiting: "En attente d'un membre de l'assistance", joined: (name) => `${name} a rejoint la conversation`,
    rated: (n) => `Vous avez noté cette conversation ${n} sur 5. Merci !`,
    sent: "Envoyé", delivered: "Distribué", read: "Lu", automatic: "Réponse automatique",
    picture: "Image jointe", pdf: "PDF joint", file: "Fichier joint",
    withMessage: (name) => `${name} sera envoyé avec votre message`, sending: "Envoi…",
    notSent: "Pas encore envoyé : nouvel essai bientôt", uploadFailed: "Le fichier n'a pas pu être envoyé.",
    fileRefused: "Joignez une image, un PDF ou un fichier texte de 10 Mo au plus.",
    edited: "modifié", deletedMessage: "Ce message a été supprimé", edit: "Modifier", remove: "Supprimer",
    save: "Enregistrer", cancel: "Annuler", confirmDelete: "Supprimer ce message pour les deux côtés ?", editMessage: "Modifier votre message",
  },
  es: {
    launcher: "Chatea con nosotros", title: "Soporte", panel: "Chat de soporte", closeChat: "Cerrar el chat", dismiss: "Cerrar",
    connecting: "Conectando…", connected: "Conectado", reconnecting: "Reconectando…",
    reconnectingBanner: "Reconectando… tus mensajes se enviarán cuando vuelva la conexión.",
    older: "Cargando mensajes anteriores…", conversation: "Conversación", typing: "Soporte está escribiendo…",
    greeting: "¡Hola! ¿En qué podemos ayudarte?", replySoon: "Solemos responder en pocos minutos.",
    replyLater: "Ahora todos están ocupados; te responderemos lo antes posible.",
    awayUntil: (when) => `Estamos fuera hasta ${when}. Déjanos un mensaje y te responderemos entonces.`,
    away: "Ahora estamos fuera. Déjanos un mensaje y te responderemos a la vuelta.",
    message: "Mensaje", placeholder: "Escribe un mensaje…", attach: "Adjuntar un archivo", send: "Enviar",
    howDidWeDo: "¿Qué tal lo hicimos?", anythingToAdd: "¿Algo que añadir? (opcional)", sendRating: "Enviar valoración",
    newConversation: "Iniciar una nueva conversación", closedConversation: "Esta conversación está cerrada",
    emailTranscript: "Enviarme la transcripción por correo", transcriptSent: "La transcripción va de camino a tu bandeja de entrada.",
    transcriptAlreadySent: "La transcripción ya se te envió.", transcriptFailed: "No se pudo enviar la transcripción.",
    helping: (name) => `${name} te está ayudando`, someoneHelping: "Alguien de soporte te está ayudando",
    nextInLine: "Esperando a soporte: eres el siguiente",
    numberInLine: (n) => `Esperando a soporte: eres el número ${n} en la cola`,
    waiting: "Esperando a que alguien de soporte se una", joined: (name) => `${name} se ha unido a la conversación`,
    rated: (n) => `Has valorado esta conversación con ${n} de 5. ¡Gracias!`,
    sent: "Enviado", delivered: "Entregado", read: "Leído", automatic: "Respuesta automática",
    picture: "Imagen adjunta", pdf: "PDF adjunto", file: "Archivo adjunto",
    withMessage: (name) => `${name} se enviará con tu mensaje`, sending: "Enviando…",
    notSent: "Aún no enviado: se reintentará", uploadFailed: "No se pudo subir el archivo.",
    fileRefused: "Adjunta una imagen, un PDF o un archivo de texto de 10 MB como máximo.",
    edited: "editado", deletedMessage: "Este mensaje fue eliminado", edit: "Editar", remove: "Eliminar",
    save: "Guardar", cancel: "Cancelar", confirmDelete: "¿Eliminar este mensaje para ambas partes?", editMessage: "Editar tu mensaje",
  },
};
// Scripts written right to left, by their language's primary tag.
const RTL = ["ar", "fa", "he", "ur", "ps", "yi", "dv", "ckb"];
const primaryTag = (tag) => String(tag || "").toLowerCase().split(/[-_]/)[0];

const STYLE = `
:host {
  --sc-accent: #2454d6; --sc-accent-text: #ffffff; --sc-bg: #ffffff; --sc-text: #1b1f24;
  --sc-muted: #57606a; --sc-line: #d0d7de; --sc-theirs: #eef1f5; --sc-warn: #8a4b00; --sc-warn-bg: #fff4e0;
  --sc-radius: 14px; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--sc-text);
}
@media (prefers-color-scheme: dark) {
  :host {
    --sc-accent: #6d9eff; --sc-accent-text: #0b1020; --sc-bg: #161b22; --sc-text: #e6edf3;
    --sc-muted: #9da7b3; --sc-line: #30363d; --sc-theirs: #222a35; --sc-warn: #f2cc8f; --sc-warn-bg: #3a2a10;
  }
}
* { box-sizing: border-box; }
button, input, textarea { font: inherit; color: inherit; }
:focus-visible { outline: 3px solid var(--sc-accent); outline-offset: 2px; }
.launcher {
  position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0; border-radius: 999px;
  padding: 12px 20px; background: var(--sc-accent); color: var(--sc-accent-text); font-weight: 600;
  box-shadow: 0 6px 20px rgb(0 0 0 / 0.25); cursor: pointer;
}
.panel {
  position: fixed; right: 20px; bottom: 84px; z-index: 2147483000; display: flex; flex-direction: column;
  width: min(380px, calc(100vw - 24px)); height: min(600px, calc(100vh - 108px));
  background: var(--sc-bg); border: 1px solid var(--sc-line); border-radius: var(--sc-radius);
  box-shadow: 0 12px 40px rgb(0 0 0 / 0.25); overflow: hidden;
}
.panel[hidden] { display: none; }
/* Right to left: the chat sits at the start of the line, bottom left. */
.launcher[dir=rtl], .panel[dir=rtl] { right: auto; left: 20px; }
.empty .greeting { margin: 0 0 6px; font-size: 17px; font-weight: 600; color: var(--sc-fg, inherit); }
.empty .availability { margin: 0; }
.msg.automatic .bubble { font-style: italic; }
/* Narrower than a page beside the panel: the open panel is the screen. */
@media (max-width: 719px) {
  .panel { inset: 0; width: 100vw; height: 100dvh; border-radius: 0; border: 0; }
  /* The open panel fills the screen and has its own close button. */
  .launcher[aria-expanded="true"] { display: none; }
}
header { display: flex; align-items: center; gap: 8px; padding: 12px 14px; background: var(--sc-accent); color: var(--sc-accent-text); }
header h2 { flex: 1; margin: 0; font-size: 16px; }
header .state { font-size: 13px; }
.icon { border: 0; background: transparent; color: inherit; cursor: pointer; padding: 4px 8px; border-radius: 8px; font-size: 18px; line-height: 1; }
.banner { margin: 0; padding: 6px 14px; font-size: 13px; background: var(--sc-warn-bg); color: var(--sc-warn); }
.banner[hidden], .alert[hidden], .typing[hidden] { display: none; }
.alert { margin: 0; padding: 6px 14px; font-size: 13px; background: var(--sc-warn-bg); color: var(--sc-warn); display: flex; gap: 8px; }
.alert span { flex: 1; }
.log { flex: 1; overflow-y: auto; padding: 12px 14px; display: flex; flex-direction: column; gap: 8px; }
.older { align-self: center; font-size: 13px; color: var(--sc-muted); }
.msg { max-width: 82%; display: flex; flex-direction: column; align-items: flex-start; gap: 2px; }
.msg.mine { align-self: flex-end; align-items: flex-end; }
.bubble { padding: 8px 12px; border-radius: var(--sc-radius); background: var(--sc-theirs); white-space: pre-wrap; overflow-wrap: anywhere; }
.mine .bubble { background: var(--sc-accent); color: var(--sc-accent-text); }
.mine .bubble a { color: inherit; }
.bubble img { display: block; max-width: 100%; max-height: 220px; border-radius: 8px; margin-top: 4px; }
.meta { font-size: 12px; color: var(--sc-muted); }
.deleted { font-style: italic; opacity: 0.85; }
button.link { border: 0; padding: 0; background: none; color: inherit; font: inherit; text-decoration: underline; cursor: pointer; min-height: 0; }
button.link.danger { font-weight: 700; }
.editor { display: grid; gap: 6px; min-width: min(260px, 60vw); }
.editor-actions { display: flex; justify-content: flex-end; gap: 6px; }
.edit-input { font: inherit; color: var(--sc-text); background: var(--sc-bg); border: 1px solid var(--sc-line); border-radius: 8px; padding: 6px; resize: vertical; }
.msg[data-pending] .bubble { opacity: 0.7; }
.typing { padding: 0 14px 6px; font-size: 13px; color: var(--sc-muted); font-style: italic; }
form.composer { display: flex; align-items: flex-end; gap: 6px; padding: 10px; border-top: 1px solid var(--sc-line); }
form.composer[hidden] { display: none; }
.composer textarea { flex: 1; resize: none; min-height: 40px; max-height: 128px; padding: 8px 10px; border: 1px solid var(--sc-line); border-radius: 10px; background: var(--sc-bg); overflow-y: auto; }
.attach { position: relative; display: inline-flex; align-items: center; justify-content: center; width: 40px; height: 40px; border-radius: 10px; cursor: pointer; color: var(--sc-muted); }
.attach input { position: absolute; inset: 0; opacity: 0; cursor: pointer; }
.attach:focus-within { outline: 3px solid var(--sc-accent); outline-offset: 2px; }
.send, .primary { border: 0; border-radius: 10px; padding: 0 14px; height: 40px; background: var(--sc-accent); color: var(--sc-accent-text); font-weight: 600; cursor: pointer; }
.file-chip { padding: 0 10px 6px; font-size: 13px; color: var(--sc-muted); }
.file-chip[hidden] { display: none; }
.who { margin: 0; padding: 6px 14px; font-size: 13px; color: var(--sc-muted); border-bottom: 1px solid var(--sc-line); }
.who[hidden], .empty[hidden] { display: none; }
.empty { margin: auto; max-width: 280px; text-align: center; color: var(--sc-muted); }
.note { align-self: center; margin: 4px 0; font-size: 13px; color: var(--sc-muted); text-align: center; }
.closed { padding: 10px 14px; border-top: 1px solid var(--sc-line); display: flex; flex-direction: column; gap: 6px; max-height: 50%; overflow-y: auto; }
.closed[hidden] { display: none; }
.closed fieldset { border: 0; margin: 0; padding: 0; display: flex; gap: 4px; align-items: center; flex-wrap: wrap; }
.closed legend { padding: 0; margin-bottom: 4px; }
.stars label { display: inline-flex; align-items: center; gap: 2px; padding: 4px 6px; border: 1px solid var(--sc-line); border-radius: 8px; cursor: pointer; }
.closed textarea { width: 100%; min-height: 40px; padding: 6px 8px; border: 1px solid var(--sc-line); border-radius: 10px; background: var(--sc-bg); }
.closed .actions { display: flex; align-items: center; gap: 12px; flex-wrap: wrap; }
.closed p { margin: 0; }
.secondary { border: 0; background: transparent; color: var(--sc-accent); padding: 4px 0; text-decoration: underline; cursor: pointer; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
`;

/** Builds an element: `el("p", {class: "x", text: "…"}, child…)`. Text is always set as text. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = value;
    // Words that follow the widget's language: filled in by `#translate`.
    else if (name === "t") node.dataset.t = value;
    else if (name === "t-label" || name === "t-placeholder" || name === "t-title") node.dataset[name.replace("-", "")] = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

/** The attach button's icon (a drawing, so it needs no emoji font). */
function paperclip() {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "20");
  svg.setAttribute("height", "20");
  svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  path.setAttribute("d", "M21 11.5l-8.6 8.6a5.5 5.5 0 0 1-7.8-7.8l8.6-8.6a3.7 3.7 0 0 1 5.2 5.2l-8.6 8.6a1.8 1.8 0 0 1-2.6-2.6l7.9-7.9");
  for (const [name, value] of Object.entries({ fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round" })) {
    path.setAttribute(name, value);
  }
  svg.append(path);
  return svg;
}

function timeOf(iso, lang) {
  return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

class ApiError extends Error {
  constructor(status, message, retryAfter = 0) {
    super(message);
    this.status = status;
    // Seconds the server asked to wait before trying again (a send past the minute's limit).
    this.retryAfter = retryAfter;
  }
}

export class SupportChat extends HTMLElement {
  #session = null; // null until the store writes: loading the widget opens nothing
  #admin = null; // {id, name} of the admin helping, once known
  #position = null; // the session's place in line while it waits
  #messages = new Map(); // id → message view
  #pending = new Map(); // client_message_id → {content, file, element}
  #heldUntil = 0; // after the minute's messages are spent: when the pending ones may go
  #flushTimer = null;
  #newestId = 0;
  #oldestId = 0;
  #hasOlder = false;
  #loadingOlder = false;
  #deliveredUpTo = 0; // the newest of the team's messages this page said it has
  #readUpTo = 0;
  #marks = { delivered: 0, read: 0 }; // the admin side's receipts of the store's messages
  #socket = null;
  #retryDelay = 1000;
  #reconnectTimer = 0;
  #pinger = 0;
  #everConnected = false;
  #started = false;
  #typingSentAt = 0;
  #typingIdle = 0;
  #theirTyping = 0;
  #file = null;
  #relinked = new Map(); // message id → when its link was last fetched again
  #lang = "en"; // the language tag the widget speaks and lays out in
  #availability = null; // what the store is told before it writes
  #editWindowMs = DEFAULT_EDIT_WINDOW_MS;
  #seen = null;
  #ui = {};
  #token = null; // {token, expiresAt (ms, or null)}
  #tokenFetch = null; // the provider's answer under way
  #renewTimer = 0;
  #retiring = null; // the socket of the token before, closed once the new one caught up
  tokenProvider = null; // async () => ({token, expires_at}), or set `token-url`

  connectedCallback() {
    if (!this.shadowRoot) {
      this.#render();
      this.#speak(this.getAttribute("lang") || "en");
    }
    addEventListener("online", this.#onOnline);
    addEventListener("offline", this.#onOffline);
    document.addEventListener("visibilitychange", this.#markVisibleRead);
    // Opened by the page, not by the shopper: the page keeps its focus.
    if (this.hasAttribute("open")) this.#open({ focus: false });
  }

  disconnectedCallback() {
    removeEventListener("online", this.#onOnline);
    removeEventListener("offline", this.#onOffline);
    document.removeEventListener("visibilitychange", this.#markVisibleRead);
    clearTimeout(this.#reconnectTimer);
    clearTimeout(this.#renewTimer);
    clearInterval(this.#pinger);
    for (const pending of this.#pending.values()) clearTimeout(pending.timer);
    clearTimeout(this.#flushTimer);
    this.#started = false;
    this.#socket?.close();
  }

  get #api() {
    return (this.getAttribute("api") || "").replace(/\/$/, "");
  }

  // ---- The shadow DOM.

  #render() {
    const root = this.attachShadow({ mode: "open" });
    const ui = this.#ui;
    ui.launcher = el("button", {
      class: "launcher", type: "button", "aria-expanded": "false", "aria-controls": "support-chat-panel",
      "data-testid": "launcher", ...(this.getAttribute("label") ? { text: this.getAttribute("label") } : { t: "launcher" }), onclick: () => this.#toggle(),
    });
    ui.status = el("span", { class: "state", role: "status", "data-testid": "connection-status", t: "connecting" });
    ui.banner = el("p", { class: "banner", hidden: true, "data-testid": "reconnecting", t: "reconnectingBanner" });
    ui.alertText = el("span");
    ui.alert = el("div", { class: "alert", role: "alert", hidden: true, "data-testid": "alert" }, ui.alertText,
      el("button", { class: "icon", type: "button", "t-label": "dismiss", text: "×", onclick: () => (ui.alert.hidden = true) }));
    ui.older = el("p", { class: "older", hidden: true, t: "older" });
    // Before the first message: a greeting, and whether anyone is there to answer.
    ui.availability = el("p", { class: "availability", "data-testid": "availability" });
    ui.empty = el("div", { class: "empty", "data-testid": "empty" }, el("p", { class: "greeting", t: "greeting" }), ui.availability);
    ui.log = el("div", {
      class: "log", role: "log", "aria-live": "polite", "t-label": "conversation", tabindex: "0",
      "data-testid": "messages", onscroll: () => this.#maybeLoadOlder(),
    }, ui.older, ui.empty);
    ui.typing = el("p", { class: "typing", hidden: true, "data-testid": "typing", t: "typing" });
    ui.input = el("textarea", {
      id: "support-chat-input", rows: "1", "t-placeholder": "placeholder", "data-testid": "composer-input",
      oninput: () => { this.#fitInput(); this.#typed(); }, onkeydown: (event) => this.#composerKey(event),
    });
    ui.fileInput = el("input", {
      type: "file", accept: UPLOAD_TYPES.join(","), "data-testid": "attach", "t-label": "attach",
      onchange: () => this.#fileChosen(),
    });
    ui.fileChip = el("p", { class: "file-chip", hidden: true, "data-testid": "attachment-chosen" });
    ui.composer = el("form", { class: "composer", onsubmit: (event) => { event.preventDefault(); this.#submit(); } },
      el("label", { class: "sr-only", for: "support-chat-input", t: "message" }),
      el("span", { class: "attach", "t-title": "attach" }, paperclip(), ui.fileInput),
      ui.input,
      el("button", { class: "send", type: "submit", "data-testid": "send", t: "send" }));
    ui.closed = this.#closedSection();
    ui.who = el("p", { class: "who", role: "status", "data-testid": "who" });
    ui.panel = el("section", { class: "panel", id: "support-chat-panel", hidden: true, "t-label": "panel", "data-testid": "panel" },
      el("header", {},
        el("h2", this.getAttribute("title") ? { text: this.getAttribute("title") } : { t: "title" }),
        ui.status,
        el("button", { class: "icon", type: "button", "t-label": "closeChat", text: "×", onclick: () => this.#toggle(false) })),
      ui.who, ui.banner, ui.alert, ui.log, ui.typing, ui.fileChip, ui.composer, ui.closed);
    root.append(el("style", { text: STYLE }), ui.panel, ui.launcher);
    ui.panel.addEventListener("keydown", (event) => { if (event.key === "Escape") this.#toggle(false); });
    this.#seen = new IntersectionObserver(() => this.#markVisibleRead(), { root: ui.log, threshold: 0.6 });
  }

  #closedSection() {
    const ui = this.#ui;
    const stars = [1, 2, 3, 4, 5].map((n) => el("label", {},
      el("input", { type: "radio", name: "rating", value: String(n), required: true, "data-testid": `rating-${n}` }),
      `${n}★`));
    ui.feedback = el("textarea", { id: "support-chat-feedback", maxlength: "2000", "data-testid": "feedback" });
    ui.rating = el("form", { "data-testid": "rating-form", onsubmit: (event) => { event.preventDefault(); this.#rate(); } },
      el("fieldset", { class: "stars" }, el("legend", { t: "howDidWeDo" }), ...stars),
      el("label", { for: "support-chat-feedback", t: "anythingToAdd" }),
      ui.feedback,
      el("div", { class: "actions" }, el("button", { class: "primary", type: "submit", "data-testid": "rate", t: "sendRating" })));
    ui.thanks = el("p", { hidden: true, tabindex: "-1", "data-testid": "thanks" });
    ui.transcript = el("button", { class: "secondary", type: "button", hidden: true, "data-testid": "email-transcript", t: "emailTranscript", onclick: () => this.#requestTranscript() });
    ui.transcriptStatus = el("p", { role: "status", "data-testid": "transcript-status" });
    return el("div", { class: "closed", hidden: true, "data-testid": "closed" },
      ui.rating, ui.thanks,
      el("div", { class: "actions" },
        el("button", { class: "secondary", type: "button", "data-testid": "new-conversation", t: "newConversation", onclick: () => this.#newConversation() }),
        ui.transcript),
      ui.transcriptStatus);
  }

  #toggle(open = this.#ui.panel.hidden) {
    if (open) this.#open();
    else {
      this.#ui.panel.hidden = true;
      this.toggleAttribute("data-open", false);
      this.#ui.launcher.setAttribute("aria-expanded", "false");
      this.#ui.launcher.focus();
    }
  }

  #open({ focus = true } = {}) {
    this.#ui.panel.hidden = false;
    // The page may keep clear of the open panel (`support-chat[data-open]`).
    this.toggleAttribute("data-open", true);
    this.#ui.launcher.setAttribute("aria-expanded", "true");
    if (focus) this.#ui.input.focus();
    if (!this.#started) {
      this.#started = true;
      this.#connect();
      this.#loadAvailability();
    }
    this.#markVisibleRead();
  }

  // ---- Language.

  /** The words of `key` in the widget's language (a function of `args` for some). */
  #t(key, ...args) {
    const words = (TEXTS[primaryTag(this.#lang)] || TEXTS.en)[key] ?? TEXTS.en[key];
    return typeof words === "function" ? words(...args) : words;
  }

  /** Speaks `tag` (a language tag: `de`, `fr-CA`, `ar`) from now on, everything shown again in it. */
  #speak(tag) {
    this.#lang = tag;
    const dir = RTL.includes(primaryTag(tag)) ? "rtl" : "ltr";
    for (const node of [this.#ui.panel, this.#ui.launcher]) {
      node.lang = tag;
      node.dir = dir;
    }
    for (const node of this.shadowRoot.querySelectorAll("[data-t]")) node.textContent = this.#t(node.dataset.t);
    for (const [key, attribute] of [["tlabel", "aria-label"], ["tplaceholder", "placeholder"], ["ttitle", "title"]]) {
      for (const node of this.shadowRoot.querySelectorAll(`[data-${key}]`)) node.setAttribute(attribute, this.#t(node.dataset[key]));
    }
    this.#ui.status.textContent = this.#t(this.#everConnected ? (this.#socket ? "connected" : "reconnecting") : "connecting");
    this.#redrawMessages();
    this.#showWho();
    this.#showAvailability();
    const rating = this.#session?.rating;
    if (rating !== null && rating !== undefined) this.#ui.thanks.textContent = this.#t("rated", rating);
  }

  #redrawMessages() {
    for (const node of this.#ui.log.querySelectorAll(".msg[data-message-id]")) {
      const message = this.#messages.get(Number(node.dataset.messageId));
      if (message) node.replaceWith(this.#messageNode(message));
    }
  }

  /**
   * What the store is told before it writes, the deployment's edit window, and the store's
   * language unless the page set one.
   */
  async #loadAvailability() {
    try {
      this.#availability = await this.#call("GET", "/v1/chat/store/availability/");
    } catch {
      return; // The greeting stands without it.
    }
    const editWindow = this.#availability.edit_window_seconds;
    if (Number.isInteger(editWindow) && editWindow * 1000 !== this.#editWindowMs) {
      this.#editWindowMs = editWindow * 1000;
      this.#redrawMessages();
    }
    if (!this.hasAttribute("lang") && this.#availability.locale) this.#speak(this.#availability.locale);
    else this.#showAvailability();
    const closed = this.#session?.status === "closed";
    if (closed && !this.#ui.transcriptStatus.textContent) this.#ui.transcript.hidden = !this.#availability.email;
  }

  #showAvailability() {
    const known = this.#availability;
    this.#ui.availability.hidden = !known;
    if (!known) return;
    let state, text;
    if (!known.within_hours) {
      state = "away";
      text = known.until ? this.#t("awayUntil", this.#when(known.until)) : this.#t("away");
    } else {
      state = known.admin_available ? "available" : "busy";
      text = known.expected_reply || this.#t(known.admin_available ? "replySoon" : "replyLater");
    }
    this.#ui.availability.dataset.state = state;
    this.#ui.availability.textContent = text;
  }

  /** A moment to come, as people say it in the widget's language and the store's time zone:
   * the time today, else the weekday and time within a week, else the date and time. */
  #when(iso) {
    const at = new Date(iso);
    const midnight = (date) => new Date(date.getFullYear(), date.getMonth(), date.getDate()).getTime();
    const days = Math.round((midnight(at) - midnight(new Date())) / 86400000);
    const time = at.toLocaleTimeString(this.#lang, { hour: "2-digit", minute: "2-digit" });
    if (days <= 0) return time;
    const day = days < 7 ? { weekday: "long" } : { weekday: "short", day: "numeric", month: "short" };
    return `${at.toLocaleDateString(this.#lang, day)} ${time}`;
  }

  // ---- HTTP.

  async #call(method, path, body) {
    const { token } = await this.#currentToken();
    const response = await fetch(this.#api + path, {
      method,
      headers: { Authorization: `Token ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) {
      const retryAfter = Number(response.headers.get("Retry-After")) || 0;
      throw new ApiError(response.status, answer.message || answer.error || `HTTP ${response.status}`, retryAfter);
    }
    return answer;
  }

  #showError(error) {
    this.#ui.alertText.textContent = error.message || String(error);
    this.#ui.alert.hidden = false;
  }

  // ---- The token: the attribute's, or the provider's, renewed before it expires.

  get #hasProvider() {
    return Boolean(this.tokenProvider || this.getAttribute("token-url"));
  }

  async #currentToken() {
    // An expired one (a provider that failed to renew it, a laptop that slept) is replaced.
    if (this.#token?.expiresAt && this.#token.expiresAt <= Date.now() && this.#hasProvider) this.#token = null;
    if (!this.#token) {
      const attribute = this.getAttribute("token");
      if (attribute && !this.#hasProvider) return (this.#token = { token: attribute, expiresAt: null });
      // The first send and the connection may both ask: one request answers both.
      this.#tokenFetch ??= this.#fetchToken().finally(() => (this.#tokenFetch = null));
      this.#token = await this.#tokenFetch;
    }
    return this.#token;
  }

  async #fetchToken() {
    const answer = this.tokenProvider
      ? await this.tokenProvider()
      : await (await fetch(this.getAttribute("token-url"), { credentials: "include" })).json();
    if (!answer?.token) throw new ApiError(401, "No token from the token provider");
    const token = { token: answer.token, expiresAt: answer.expires_at ? Date.parse(answer.expires_at) : null };
    clearTimeout(this.#renewTimer);
    if (token.expiresAt) {
      const left = token.expiresAt - Date.now();
      this.#renewTimer = setTimeout(() => this.#renew(), Math.max(0, left - Math.min(RENEW_BEFORE_MS, left / 4)));
    }
    return token;
  }

  // A new token, then a new connection with it; the old one hears events until the new one
  // has caught up, and is closed then.
  async #renew() {
    try {
      this.#token = await this.#fetchToken();
    } catch {
      this.#renewTimer = setTimeout(() => this.#renew(), 5000);
      return;
    }
    if (!this.#started) return;
    this.#retiring = this.#socket;
    this.#connect();
  }

  // ---- The live connection: subscribe first, then fetch, so nothing falls between.

  async #connect() {
    clearTimeout(this.#reconnectTimer);
    const url = new URL(this.getAttribute("ws"));
    let token;
    try {
      ({ token } = await this.#currentToken());
    } catch (error) {
      this.#showError(error);
      this.#reconnectTimer = setTimeout(() => this.#connect(), this.#retryDelay);
      return;
    }
    url.searchParams.set("token", token);
    const socket = new WebSocket(url);
    this.#socket = socket;
    socket.onopen = () => this.#connected(socket);
    socket.onmessage = (event) => this.#event(JSON.parse(event.data));
    socket.onclose = () => this.#disconnected(socket);
  }

  async #connected(socket) {
    try {
      if (this.#everConnected && this.#session) await this.#catchUp({ receipts: true });
      else await this.#loadSession();
      if (socket !== this.#socket) return;
      this.#markDelivered();
      const retiring = this.#retiring;
      this.#retiring = null;
      retiring?.close();
      this.#retryDelay = 1000;
      this.#everConnected = true;
      this.#setConnected(true);
      clearInterval(this.#pinger);
      this.#pinger = setInterval(() => this.#send({ action: "ping" }), PING_EVERY_MS);
      await this.#flushPending();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && this.#hasProvider) {
        // Refused with a token the provider can replace: a new one, and a new connection.
        this.#token = null;
      } else if (error instanceof ApiError && error.status < 500) {
        // Refused (a token that no longer works, say): trying again will not help.
        this.#started = false;
        this.#showError(error);
      }
      // Otherwise the connection is of no use until the fetch works: start over.
      socket.close();
    }
  }

  #disconnected(socket) {
    if (socket !== this.#socket || !this.#started) return;
    this.#socket = null;
    clearInterval(this.#pinger);
    this.#setConnected(false);
    this.#reconnectTimer = setTimeout(() => this.#connect(), this.#retryDelay * (0.8 + Math.random() * 0.4));
    this.#retryDelay = Math.min(this.#retryDelay * 2, 15000);
  }

  #onOffline = () => {
    // The socket is of no use without a network; closing it now shows the state at once.
    this.#socket?.close();
  };

  #onOnline = () => {
    if (!this.#started || this.#socket?.readyState === WebSocket.OPEN) return;
    // Back online: try at once rather than when the backoff says.
    const stale = this.#socket;
    this.#socket = null;
    stale?.close();
    this.#retryDelay = 1000;
    this.#connect();
  };

  #setConnected(connected) {
    this.#ui.status.textContent = this.#t(connected ? "connected" : "reconnecting");
    this.#ui.banner.hidden = connected || !this.#everConnected;
  }

  #send(frame) {
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(frame));
  }

  #event(event) {
    // A session of this store that is not the one shown: opened in another tab, or by the
    // store's first message while this tab showed none or a closed one. Shown instead.
    const about = event.message?.session_id ?? event.session?.id ?? event.session_id;
    if (about && about !== this.#session?.id && (!this.#session || this.#session.status === "closed")) {
      if (event.type === "message.created" || event.type === "session.updated") this.#loadSession().catch(() => {});
      return;
    }
    switch (event.type) {
      case "message.created":
        if (event.message.session_id === this.#session?.id) {
          this.#add(event.message);
          if (event.message.sender_type === "admin") this.#showTheirTyping(false);
        }
        break;
      case "message.updated":
        // One not loaded yet shows as it is when it is.
        if (this.#messages.has(event.message.id)) this.#add(event.message);
        break;
      case "message.status":
        if (event.session_id === this.#session?.id && event.reader_type === "admin") this.#receipt(event.status, event.up_to_message_id);
        break;
      case "typing":
        if (event.session_id === this.#session?.id) this.#showTheirTyping(event.state === "on");
        break;
      case "session.updated":
        if (event.session.id === this.#session?.id) this.#sessionChanged(event.session);
        break;
      case "session.assigned":
        if (event.session_id === this.#session?.id && this.#admin?.id !== event.admin.id) {
          this.#admin = event.admin;
          this.#position = null;
          this.#note(this.#t("joined", event.admin.name));
          this.#showWho();
        }
        break;
      case "queue.position":
        if (event.session_id === this.#session?.id && this.#session.status === "open") {
          this.#position = event.position;
          this.#showWho();
        }
        break;
      case "error":
        this.#showError(new Error(event.error));
        break;
    }
  }

  // ---- The session and its messages.

  /** The store's active session, or else the one it closed last (looked up: loading the
   * widget opens nothing): its newest messages, then any that came during the fetch (their
   * events found no session to go to yet). */
  async #loadSession() {
    const { session } = await this.#call("GET", "/v1/chat/store/session/current/");
    this.#reset();
    this.#sessionChanged(session);
    if (!session) return;
    session.messages.forEach((message) => this.#add(message));
    this.#hasOlder = session.messages.length >= 200;
    await this.#catchUp();
  }

  /** Says the team's messages this page loaded reached it, so none of them is mailed to the
   * store as missed. Those that arrive live are marked so by the send itself. */
  #markDelivered() {
    let newest = 0;
    for (const message of this.#messages.values()) if (message.sender_type === "admin") newest = Math.max(newest, message.id);
    if (!this.#session || newest <= this.#deliveredUpTo) return;
    this.#deliveredUpTo = newest;
    this.#send({ action: "mark_delivered", session_id: this.#session.id, up_to_message_id: newest });
  }

  /** Asks for the closed conversation's transcript by email, once. */
  async #requestTranscript() {
    const ui = this.#ui;
    ui.transcript.disabled = true;
    try {
      await this.#call("POST", "/v1/chat/store/session/transcript/", { session_id: this.#session.id });
      ui.transcriptStatus.textContent = this.#t("transcriptSent");
      ui.transcript.hidden = true;
    } catch (error) {
      const already = error instanceof ApiError && error.status === 409 && /already sent/.test(error.message);
      ui.transcriptStatus.textContent = this.#t(already ? "transcriptAlreadySent" : "transcriptFailed");
      ui.transcript.hidden = already;
      ui.transcript.disabled = false;
    }
  }

  /** Forgets the session shown: the next message the store writes opens a new one. */
  #reset() {
    this.#session = this.#admin = this.#position = null;
    this.#messages.clear();
    this.#newestId = this.#oldestId = this.#readUpTo = this.#deliveredUpTo = 0;
    this.#marks = { delivered: 0, read: 0 };
    for (const node of this.#ui.log.querySelectorAll(".msg:not([data-pending]), .note")) node.remove();
  }

  /** A line in the conversation that is nobody's message ("Sarah joined the conversation"). */
  #note(text) {
    const pending = this.#ui.log.querySelector(".msg[data-pending]");
    this.#ui.log.insertBefore(el("p", { class: "note", "data-testid": "note", text }), pending);
    this.#scrollToEnd();
  }

  /** Who is there for the store: waiting (and its place in line), who is helping, or closed. */
  #showWho() {
    const session = this.#session;
    let text;
    this.#ui.who.hidden = !session;
    this.#ui.empty.hidden = Boolean(session) || this.#ui.log.querySelector(".msg[data-pending]") !== null;
    if (!session) text = "";
    else if (session.status === "closed") text = this.#t("closedConversation");
    else if (session.status === "claimed") text = this.#admin ? this.#t("helping", this.#admin.name) : this.#t("someoneHelping");
    else if (this.#position === 1) text = this.#t("nextInLine");
    else if (this.#position) text = this.#t("numberInLine", this.#position);
    else text = this.#t("waiting");
    this.#ui.who.textContent = text;
  }

  /** What was missed: newer messages, and with `receipts` the marks of the recent ones. */
  async #catchUp({ receipts = false } = {}) {
    const session = this.#session.id;
    if (receipts && this.#newestId) {
      const recent = await this.#call("GET", `/v1/chat/store/messages/?session_id=${session}&before=${this.#newestId + 1}&limit=50`);
      recent.messages.forEach((message) => this.#add(message));
    }
    let page;
    do {
      page = await this.#call("GET", `/v1/chat/store/messages/?session_id=${session}&after=${this.#newestId}&limit=200`);
      page.messages.forEach((message) => this.#add(message));
    } while (page.has_more);
    this.#scrollToEnd();
  }

  /** Shows `session` (a view from the look-up, or a change as an event tells it; null for
   * none yet). */
  #sessionChanged(session) {
    if (session) {
      this.#session = { ...this.#session, ...session };
      // The look-up names who is helping; an event only says who holds it, and the name
      // follows as session.assigned.
      if (session.admin !== undefined) this.#admin = session.admin;
      else if (this.#admin?.id !== session.admin_id) this.#admin = null;
      if (session.queue_position !== undefined) this.#position = session.queue_position;
      if (session.status !== "open") this.#position = null;
    }
    this.#showWho();
    const closed = session?.status === "closed";
    this.#ui.composer.hidden = closed;
    this.#ui.closed.hidden = !closed;
    if (closed) {
      const rating = this.#session.rating;
      const rated = rating !== null && rating !== undefined;
      this.#ui.rating.hidden = rated;
      this.#ui.thanks.hidden = !rated;
      if (rated) this.#ui.thanks.textContent = this.#t("rated", rating);
      // A transcript by email, where mail goes out.
      this.#ui.transcript.hidden = !this.#availability?.email;
      this.#ui.transcriptStatus.textContent = "";
      this.#showTheirTyping(false);
      // Focus in the composer that just went away moves on to what replaced it.
      const focused = this.shadowRoot.activeElement;
      if (!rated && focused && this.#ui.composer.contains(focused)) this.#ui.rating.querySelector("input").focus();
    }
  }

  async #maybeLoadOlder() {
    const log = this.#ui.log;
    if (log.scrollTop > 40 || !this.#hasOlder || this.#loadingOlder || !this.#session) return;
    this.#loadingOlder = true;
    this.#ui.older.hidden = false;
    try {
      const page = await this.#call("GET", `/v1/chat/store/messages/?session_id=${this.#session.id}&before=${this.#oldestId}&limit=${OLDER_PAGE}`);
      const height = log.scrollHeight;
      page.messages.forEach((message) => this.#add(message));
      this.#hasOlder = page.has_more;
      log.scrollTop += log.scrollHeight - height;
    } catch (error) {
      this.#showError(error);
    } finally {
      this.#loadingOlder = false;
      this.#ui.older.hidden = true;
    }
  }

  /** Shows `message` in id order, once; a later view of it replaces the earlier one, unless
   * it is an older version of it (fetched before an edit or a delete). */
  #add(message) {
    const revised = (m) => (m.deleted_at ? Infinity : m.edited_at ? Date.parse(m.edited_at) : 0);
    const known = this.#messages.get(message.id);
    if (known && revised(known) > revised(message)) message = { ...known, status: message.status };
    let status = known && RANK[known.status] > RANK[message.status] ? known.status : message.status;
    // A receipt can arrive before the message it covers (they are posted side by side).
    if (message.sender_type === "store") {
      for (const mark of ["delivered", "read"]) if (message.id <= this.#marks[mark] && RANK[mark] > RANK[status]) status = mark;
    }
    this.#messages.set(message.id, status === message.status ? message : { ...message, status });
    const node = this.#messageNode(this.#messages.get(message.id));
    const existing = this.#ui.log.querySelector(`.msg[data-message-id="${message.id}"]`);
    if (existing) {
      existing.replaceWith(node);
    } else {
      const later = [...this.#ui.log.querySelectorAll(".msg[data-message-id]")].find((n) => Number(n.dataset.messageId) > message.id);
      this.#ui.log.insertBefore(node, later || this.#ui.log.querySelector(".msg[data-pending]"));
      const atEnd = message.id > this.#newestId;
      this.#newestId = Math.max(this.#newestId, message.id);
      this.#oldestId = this.#oldestId ? Math.min(this.#oldestId, message.id) : message.id;
      if (atEnd) this.#scrollToEnd();
    }
    if (message.sender_type === "admin") this.#seen.observe(node);
  }

  #messageNode(message) {
    const mine = message.sender_type === "store";
    const deleted = Boolean(message.deleted_at);
    const meta = el("span", { class: "meta" }, timeOf(message.created, this.#lang));
    if (message.edited_at && !deleted) meta.append(" · ", el("span", { "data-testid": "edited", text: this.#t("edited") }));
    if (mine) meta.append(" · ", el("span", { "data-testid": "receipt", text: this.#t(message.status) }));
    // Written by the product on the team's behalf: said so, beside its time.
    if (message.automatic) meta.prepend(el("span", { "data-testid": "automatic", text: this.#t("automatic") }), " · ");
    if (mine && !deleted && Date.now() - Date.parse(message.created) < this.#editWindowMs && this.#session?.status !== "closed") {
      meta.append(" ",
        el("button", { type: "button", class: "link", "data-testid": "edit", text: this.#t("edit"), onclick: () => this.#startEdit(message) }),
        " ",
        el("button", { type: "button", class: "link", "data-testid": "delete", text: this.#t("remove"), onclick: (event) => this.#confirmDelete(message, event.currentTarget) }));
    }
    const content = deleted
      ? el("span", { "data-testid": "content", class: "deleted", text: this.#t("deletedMessage") })
      : el("span", { "data-testid": "content", dir: "auto", text: message.content });
    return el("div", {
      class: ["msg", mine && "mine", message.automatic && "automatic"].filter(Boolean).join(" "),
      "data-testid": "message", "data-message-id": message.id, "data-sender": message.sender_type,
    }, el("div", { class: "bubble" }, content, deleted ? null : this.#attachmentNode(message)), meta);
  }

  /** The store edits its own message in place: Enter saves, Escape keeps it as it was. */
  #startEdit(message) {
    const node = this.#ui.log.querySelector(`.msg[data-message-id="${message.id}"]`);
    const content = node?.querySelector('[data-testid="content"]');
    if (!content) return;
    const field = el("textarea", { class: "edit-input", rows: "2", maxlength: "4000", "data-testid": "edit-input", "aria-label": this.#t("editMessage") });
    field.value = message.content;
    const restore = () => this.#add(this.#messages.get(message.id));
    const save = async () => {
      const text = field.value.trim();
      if (text === message.content) return restore();
      try {
        this.#add(await this.#call("POST", "/v1/chat/store/messages/edit/", { session_id: message.session_id, message_id: message.id, content: text }));
      } catch (error) {
        this.#showError(error);
        restore();
      }
    };
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        restore();
      } else if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        save();
      }
    });
    const editor = el("span", { class: "editor" }, field,
      el("span", { class: "editor-actions" },
        el("button", { type: "button", class: "secondary", text: this.#t("cancel"), onclick: restore }),
        el("button", { type: "button", "data-testid": "edit-save", text: this.#t("save"), onclick: save })));
    content.replaceWith(editor);
    field.focus();
  }

  /** A delete asks once, in place: both sides see that the message was deleted. */
  #confirmDelete(message, button) {
    const remove = async () => {
      try {
        this.#add(await this.#call("POST", "/v1/chat/store/messages/delete/", { session_id: message.session_id, message_id: message.id }));
      } catch (error) {
        this.#showError(error);
      }
    };
    const ask = el("span", { class: "confirm-delete", role: "group" }, this.#t("confirmDelete"), " ",
      el("button", { type: "button", class: "link danger", "data-testid": "confirm-delete", text: this.#t("remove"), onclick: remove }), " ",
      el("button", { type: "button", class: "link", text: this.#t("cancel"), onclick: () => this.#add(this.#messages.get(message.id)) }));
    button.replaceWith(ask);
    ask.querySelector("button").focus();
  }

  #attachmentNode(message) {
    if (!message.attachment_url) return null;
    const link = el("a", { href: message.attachment_url, target: "_blank", rel: "noopener noreferrer", "data-testid": "attachment" });
    if (message.attachment_type.startsWith("image/")) {
      link.append(el("img", { src: message.attachment_url, alt: this.#t("picture"), onerror: () => this.#relink(message.id) }));
    }
    else link.textContent = this.#t(message.attachment_type === "application/pdf" ? "pdf" : "file");
    return link;
  }

  /** A picture whose link expired (links last minutes): the message again, with a fresh one. */
  async #relink(id) {
    const last = this.#relinked.get(id) || 0;
    if (Date.now() - last < 60000 || !this.#session) return;
    this.#relinked.set(id, Date.now());
    const page = await this.#call("GET", `/v1/chat/store/messages/?session_id=${this.#session.id}&after=${id - 1}&limit=1`).catch(() => null);
    const fresh = page?.messages.find((message) => message.id === id);
    if (fresh) this.#add(fresh);
  }

  #receipt(status, upTo) {
    this.#marks[status] = Math.max(this.#marks[status] ?? 0, upTo);
    for (const message of this.#messages.values()) {
      if (message.sender_type === "store" && message.id <= upTo && RANK[status] > RANK[message.status]) {
        this.#add({ ...message, status });
      }
    }
  }

  #scrollToEnd() {
    const log = this.#ui.log;
    requestAnimationFrame(() => (log.scrollTop = log.scrollHeight));
  }

  /** Marks the admin's messages read up to the newest one on screen, when someone can see it. */
  #markVisibleRead = () => {
    if (!this.#session || this.#ui.panel.hidden || document.visibilityState !== "visible") return;
    const view = this.#ui.log.getBoundingClientRect();
    let newest = 0;
    for (const node of this.#ui.log.querySelectorAll('.msg[data-sender="admin"]')) {
      const box = node.getBoundingClientRect();
      if (box.bottom > view.top && box.top < view.bottom) newest = Math.max(newest, Number(node.dataset.messageId));
    }
    if (newest <= this.#readUpTo) return;
    this.#readUpTo = newest;
    this.#call("POST", "/v1/chat/store/session/read/", { up_to_message_id: newest }).catch(() => {
      this.#readUpTo = 0; // Tried again with the next look.
    });
  };

  // ---- Composing and sending.

  #composerKey(event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      this.#submit();
    }
  }

  /** The message box grows with its text, up to a few lines. */
  #fitInput() {
    const input = this.#ui.input;
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight + 2, 128)}px`;
  }

  #typed() {
    // Nobody is there to see it before the first message.
    if (!this.#session) return;
    const now = Date.now();
    if (now - this.#typingSentAt > 3000) {
      this.#typingSentAt = now;
      this.#send({ action: "typing", state: "on" });
    }
    clearTimeout(this.#typingIdle);
    this.#typingIdle = setTimeout(() => this.#stopTyping(), 4000);
  }

  #stopTyping() {
    clearTimeout(this.#typingIdle);
    if (this.#typingSentAt) this.#send({ action: "typing", state: "off" });
    this.#typingSentAt = 0;
  }

  #showTheirTyping(on) {
    clearTimeout(this.#theirTyping);
    this.#ui.typing.hidden = !on;
    // A lost "off" must not leave the indicator on for ever.
    if (on) this.#theirTyping = setTimeout(() => (this.#ui.typing.hidden = true), 6000);
  }

  #fileChosen() {
    const file = this.#ui.fileInput.files[0];
    this.#ui.fileInput.value = "";
    if (!file) return;
    if (!UPLOAD_TYPES.includes(file.type) || file.size < 1 || file.size > MAX_UPLOAD_BYTES) {
      this.#showError(new Error(this.#t("fileRefused")));
      return;
    }
    this.#file = file;
    this.#ui.fileChip.textContent = this.#t("withMessage", file.name);
    this.#ui.fileChip.hidden = false;
    this.#ui.input.focus();
  }

  #submit() {
    const content = this.#ui.input.value.trim();
    const file = this.#file;
    if (!content && !file) return;
    this.#ui.input.value = "";
    this.#fitInput();
    this.#file = null;
    this.#ui.fileChip.hidden = true;
    this.#stopTyping();
    const id = crypto.randomUUID();
    const element = el("div", { class: "msg mine", "data-testid": "message", "data-pending": "true", "data-sender": "store" },
      el("div", { class: "bubble" }, el("span", { "data-testid": "content", dir: "auto", text: content }), file ? el("span", { class: "meta", text: ` + ${file.name}` }) : null),
      el("span", { class: "meta", "data-testid": "pending-state", text: this.#t("sending") }));
    this.#ui.log.append(element);
    this.#ui.empty.hidden = true;
    this.#scrollToEnd();
    this.#pending.set(id, { content, file, element, uploadId: null });
    this.#deliver(id);
  }

  #holdSends(seconds) {
    this.#heldUntil = Date.now() + seconds * 1000;
    clearTimeout(this.#flushTimer);
    this.#flushTimer = setTimeout(() => {
      this.#heldUntil = 0;
      this.#flushPending();
    }, seconds * 1000);
  }

  async #flushPending() {
    for (const id of this.#pending.keys()) await this.#deliver(id);
  }

  /** Sends one pending message; a network failure leaves it pending for the next try. */
  async #deliver(id) {
    const pending = this.#pending.get(id);
    if (!pending || pending.inFlight) return;
    clearTimeout(pending.timer);
    if (Date.now() < this.#heldUntil) {
      pending.element.querySelector("[data-testid=pending-state]").textContent = this.#t("notSent");
      return;
    }
    pending.inFlight = true;
    try {
      if (pending.file && !pending.uploadId) pending.uploadId = await this.#upload(pending.file);
      const body = { content: pending.content, client_message_id: id };
      if (pending.uploadId) body.upload_id = pending.uploadId;
      const message = await this.#call("POST", "/v1/chat/store/messages/", body);
      this.#pending.delete(id);
      pending.element.remove();
      if (message.session_id !== this.#session?.id) await this.#loadSession();
      this.#add(message);
    } catch (error) {
      if (error instanceof ApiError && !RETRYABLE.includes(error.status) && error.status < 500) {
        // Refused: trying again would not help. The text goes back to the box to edit.
        this.#pending.delete(id);
        pending.element.remove();
        if (!this.#ui.input.value) this.#ui.input.value = pending.content;
        this.#showError(error);
      } else if (error instanceof ApiError && error.status === 429) {
        // The minute's messages are spent: everything pending waits as long as asked, then
        // goes in the order it was written.
        pending.element.querySelector("[data-testid=pending-state]").textContent = this.#t("notSent");
        this.#holdSends(error.retryAfter || 5);
      } else {
        pending.element.querySelector("[data-testid=pending-state]").textContent = this.#t("notSent");
        pending.retryDelay = Math.min((pending.retryDelay || 1000) * 2, 30000);
        pending.timer = setTimeout(() => this.#deliver(id), pending.retryDelay);
      }
    } finally {
      pending.inFlight = false;
    }
  }

  async #upload(file) {
    const upload = await this.#call("POST", "/v1/chat/store/uploads/", { file_name: file.name, content_type: file.type, size: file.size });
    const headers = Object.fromEntries(Object.entries(upload.headers).filter(([name]) => name !== "content-length"));
    const response = await fetch(upload.url, { method: upload.method, headers, body: file });
    if (!response.ok) throw new ApiError(400, this.#t("uploadFailed"));
    return upload.upload_id;
  }

  // ---- Closing, rating, starting again.

  async #rate() {
    const chosen = this.#ui.rating.querySelector("input[name=rating]:checked");
    if (!chosen) return;
    const feedback = this.#ui.feedback.value.trim();
    try {
      const session = await this.#call("POST", "/v1/chat/store/session/rating/", {
        session_id: this.#session.id, rating: Number(chosen.value), ...(feedback ? { feedback } : {}),
      });
      this.#sessionChanged(session);
      this.#ui.thanks.focus?.();
    } catch (error) {
      this.#showError(error);
    }
  }

  /** Back to an empty conversation; the store's next message opens the session. */
  #newConversation() {
    this.#reset();
    this.#sessionChanged(null);
    this.#ui.input.focus();
    // Who is there may have changed since the last conversation began.
    this.#loadAvailability();
  }
}

customElements.define("support-chat", SupportChat);
