// The one way the portal talks to the platform: the public /v1 API, with the signed-in person's
// token. The token lives only in this module's memory (never in storage, a cookie or a URL), so
// another site's script cannot read it and a reload signs the person out.
let token = null;

export class ApiError extends Error {
  constructor(status, problem) {
    super(describe(status, problem));
    this.status = status;
    this.problem = problem || {};
  }
}

// problem+json (RFC 9457) in words: title, detail, then each field's messages.
function describe(status, problem) {
  if (!problem) return `The platform answered ${status}.`;
  const parts = [problem.title || `Error ${status}`];
  if (problem.detail) parts.push(problem.detail);
  if (problem.rules && problem.rules.length) parts.push(`Rules broken: ${problem.rules.join(", ")}.`);
  for (const [field, messages] of Object.entries(flatten(problem.errors || {}))) {
    parts.push(`${field}: ${messages.join(" ")}`);
  }
  return parts.join(" — ");
}

function flatten(errors, prefix = "") {
  const out = {};
  for (const [key, value] of Object.entries(errors)) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (Array.isArray(value)) out[name] = value.map(String);
    else if (value && typeof value === "object") Object.assign(out, flatten(value, name));
    else out[name] = [String(value)];
  }
  return out;
}

export function setToken(value) { token = value; }
export function signedIn() { return token !== null; }

// call("POST", "/v1/shifts", body) -> parsed JSON; throws ApiError with the problem in words.
export async function call(method, path, body, { raw = false } = {}) {
  const headers = { Accept: raw ? "*/*" : "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  const init = { method, headers, credentials: "omit", cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, { title: "The platform could not be reached", detail: String(error.message || error) });
  }
  if (!response.ok) {
    let problem = null;
    try { problem = await response.json(); } catch { /* not JSON */ }
    if (response.status === 401 && token) problem = { ...(problem || {}), detail: `${(problem && problem.detail) || ""} Please sign in again.`.trim() };
    throw new ApiError(response.status, problem);
  }
  if (raw) return response.blob();
  if (response.status === 204) return null;
  return response.json();
}

export const get = (path) => call("GET", path);
export const post = (path, body) => call("POST", path, body);
export const put = (path, body) => call("PUT", path, body);
export const patch = (path, body) => call("PATCH", path, body);

// Every page of a list (up to `max` items).
export async function all(path, max = 500) {
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await get(`${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && items.length < max);
  return items;
}

export function query(params) {
  const pairs = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return pairs.length ? `?${new URLSearchParams(pairs).toString()}` : "";
}
