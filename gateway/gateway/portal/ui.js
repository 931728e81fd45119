// Small DOM helpers shared by every page: elements, labelled fields, forms that show the API's
// errors in words, tables, dates in London time, and CSV downloads.
import { call } from "./api.js";

let ids = 0;
export const uid = (stem = "f") => `${stem}-${++ids}`;

// h("button", {type: "button", onclick}, "Text", child...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el, ...children) { el.replaceChildren(...children.flat().filter(Boolean)); return el; }

export function section(title, ...children) {
  const id = uid("s");
  return h("section", { "aria-labelledby": id, class: "card" }, h("h2", { id }, title), ...children);
}

// A message area: messages are announced (role=status / role=alert).
export function messages() {
  const el = h("div", { class: "messages", "aria-live": "polite" });
  el.ok = (text) => clear(el, h("p", { class: "ok", role: "status" }, text));
  el.error = (error) => clear(el, h("p", { class: "error", role: "alert" }, error.message || String(error)));
  el.clear = () => clear(el);
  return el;
}

// field("Email", {name: "email", type: "email", required: true}) -> <div><label/><input/></div>
export function field(label, attrs = {}, hint) {
  const id = attrs.id || uid(attrs.name || "f");
  const hintId = hint ? `${id}-hint` : undefined;
  const input = attrs.type === "select"
    ? h("select", { id, name: attrs.name, required: attrs.required, multiple: attrs.multiple, size: attrs.size,
      "aria-describedby": hintId },
      (attrs.options || []).map(([value, text]) => h("option", { value,
        selected: attrs.multiple ? (attrs.value || []).includes(value) : value === attrs.value }, text)))
    : attrs.type === "textarea"
      ? h("textarea", { id, name: attrs.name, required: attrs.required, rows: 2, "aria-describedby": hintId })
      : h("input", { ...attrs, id, "aria-describedby": hintId, type: attrs.type || "text" });
  if (attrs.type === "checkbox") {
    return h("div", { class: "field check" }, input, h("label", { for: id }, label));
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), hint ? h("p", { class: "hint", id: hintId }, hint) : null, input);
}

// form({label, fields, submit: async (values, form) => message}) with its own message area.
export function form({ label, fields, submitLabel, submit, inline = false }) {
  const note = messages();
  const button = h("button", { type: "submit" }, submitLabel);
  const el = h("form", { class: inline ? "form inline" : "form", "aria-label": label }, fields, button, note);
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    note.clear();
    try {
      const said = await submit(values(el), el);
      if (said) note.ok(said);
    } catch (error) {
      note.error(error);
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

export function values(formEl) {
  const out = {};
  for (const el of formEl.elements) {
    if (!el.name) continue;
    out[el.name] = el.type === "checkbox" ? el.checked
      : el.multiple ? [...el.selectedOptions].map((option) => option.value) : el.value.trim();
  }
  return out;
}

// A button running an action, showing its error (or success) beside it.
export function action(label, run, { note, attrs = {} } = {}) {
  const area = note || messages();
  const button = h("button", { type: "button", ...attrs, onclick: async () => {
    button.disabled = true;
    area.clear();
    try {
      const said = await run();
      if (said) area.ok(said);
    } catch (error) {
      area.error(error);
    } finally {
      button.disabled = false;
    }
  } }, label);
  return note ? button : h("span", { class: "action" }, button, area);
}

// A region that scrolls sideways on a narrow screen: focusable, so a keyboard can scroll it too.
export function scrollable(name, ...children) {
  return h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": name }, ...children);
}

// table(caption, ["Col", ...], rows of cells)
export function table(caption, headings, rows, empty = "Nothing here yet.") {
  if (!rows.length) return h("p", { class: "empty" }, empty);
  return scrollable(caption, h("table", {},
    h("caption", {}, caption),
    h("thead", {}, h("tr", {}, headings.map((text) => h("th", { scope: "col" }, text)))),
    h("tbody", {}, rows.map((cells) => h("tr", {}, cells.map((cell) => h("td", {}, cell)))))));
}

const LONDON = "Europe/London";
export function when(iso) {
  if (!iso) return "";
  return new Intl.DateTimeFormat("en-GB", { timeZone: LONDON, weekday: "short", day: "numeric", month: "short",
    hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}
export function time(iso) {
  return new Intl.DateTimeFormat("en-GB", { timeZone: LONDON, hour: "2-digit", minute: "2-digit" }).format(new Date(iso));
}
export function span(shift) {
  return `${when(shift.starts_at)}–${time(shift.ends_at)}`;
}
export const money = (value) => (value === null || value === undefined ? "" : `£${value}`);
export const percent = (value) => (value === null || value === undefined ? "n/a" : `${Math.round(value * 100)}%`);
export const short = (id) => (id ? String(id).slice(0, 8) : "");
export const label = (text) => String(text || "").replaceAll("_", " ");

// A datetime-local value (London wall clock in the browser's zone) as ISO 8601 with offset.
export function isoFromLocal(value) {
  return value ? new Date(value).toISOString().replace(".000Z", "+00:00") : undefined;
}
export function localFromIso(iso) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function badge(status) {
  return h("span", { class: `badge ${status}` }, label(status));
}

// Download a report as CSV: fetched with the token (never a token in a URL), saved from a blob.
export async function downloadCsv(path, filename) {
  const sep = path.includes("?") ? "&" : "?";
  const blob = await call("GET", `${path}${sep}format=csv`, undefined, { raw: true });
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  return `Downloaded ${filename}.`;
}
