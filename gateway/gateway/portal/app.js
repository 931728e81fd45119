// The portal's shell: sign in (or register as a worker), who is signed in, one page per role,
// client-side routes under /portal/ (notifications link to /portal/shifts/<id>).
import { get, post, setToken, signedIn } from "./api.js";
import { clear, field, form, h } from "./ui.js";
import { forget } from "./directory.js";
import * as worker from "./worker.js";
import * as coordinator from "./coordinator.js";
import * as approver from "./approver.js";
import * as admin from "./admin.js";
import * as leader from "./leader.js";

const BASE = "/portal/";
// Each role's page, in the order a person with several roles lands on them.
const PAGES = [
  { path: "worker", title: "My shifts", roles: ["worker"], module: worker },
  { path: "coordinator", title: "Rota", roles: ["rota_coordinator", "bank_admin", "platform_admin"], module: coordinator },
  { path: "approvals", title: "Approvals", roles: ["timesheet_approver", "bank_admin", "platform_admin"], module: approver },
  { path: "admin", title: "Bank admin", roles: ["bank_admin", "platform_admin"], module: admin },
  { path: "reports", title: "Reports", roles: ["leadership", "bank_admin", "platform_admin"], module: leader },
];
const LANDING = { worker: "worker", rota_coordinator: "coordinator", timesheet_approver: "approvals",
  bank_admin: "admin", platform_admin: "admin", leadership: "reports" };

const session = { me: null };
const page = () => document.getElementById("page");

function pagesFor(me) {
  const held = new Set(me.roles.map((grant) => grant.role));
  return PAGES.filter((p) => p.roles.some((role) => held.has(role)));
}

function landing(me) {
  for (const role of ["worker", "rota_coordinator", "timesheet_approver", "leadership", "bank_admin", "platform_admin"]) {
    if (me.roles.some((grant) => grant.role === role)) return LANDING[role];
  }
  return "worker";
}

export function navigate(path, { replace = false } = {}) {
  const url = BASE + path.replace(/^\//, "");
  if (replace) history.replaceState({}, "", url); else history.pushState({}, "", url);
  render();
}

function setTitle(text) {
  document.getElementById("title").textContent = text;
  document.title = `${text} — Staffbank`;
}

function renderChrome() {
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  if (!session.me) { clear(nav); clear(who); return; }
  const here = location.pathname.slice(BASE.length).split("/")[0];
  clear(nav, h("ul", {}, pagesFor(session.me).map((p) => h("li", {},
    h("a", { href: BASE + p.path, "aria-current": p.path === here ? "page" : null,
      onclick: (event) => { event.preventDefault(); navigate(p.path); } }, p.title)))));
  clear(who, h("span", { id: "signed-in-as" }, `Signed in as ${session.me.name} (${session.me.email})`),
    h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"));
}

function signOut() {
  setToken(null);
  forget();
  session.me = null;
  navigate("", { replace: true });
}

async function signIn(email, password) {
  const answer = await post("/v1/auth/token", { email, password });
  setToken(answer.access_token);
  forget();
  try {
    session.me = await get("/v1/me");
  } catch (error) {
    setToken(null);
    throw error;
  }
}

function signInPage() {
  setTitle("Sign in");
  const wanted = location.pathname.slice(BASE.length);
  clear(page(),
    form({ label: "Sign in", submitLabel: "Sign in", fields: [
      field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
      field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true }),
    ], submit: async ({ email, password }) => {
      await signIn(email, password);
      const ok = wanted && wanted !== "register" && pagesFor(session.me).some((p) => wanted.startsWith(p.path) || wanted.startsWith("shifts/"));
      navigate(ok ? wanted : landing(session.me), { replace: true });
    } }),
    h("p", {}, "New to the bank? ",
      h("a", { href: `${BASE}register${location.search}`, onclick: (event) => { event.preventDefault(); navigate(`register${location.search}`); } },
        "Register as a worker")));
}

function registerPage() {
  setTitle("Register as a worker");
  const bank = new URLSearchParams(location.search).get("bank") || "";
  const number = (name) => ({ name, type: "number", step: "any", required: true, inputmode: "decimal" });
  clear(page(),
    h("p", {}, "Your bank gives you its registration link (it fills in the bank). Then add your documents."),
    form({ label: "Register", submitLabel: "Register", fields: [
      field("Bank", { name: "bank_id", required: true, value: bank }, "The bank id from your bank's link."),
      field("Full name", { name: "name", required: true, autocomplete: "name" }),
      field("Email", { name: "email", type: "email", required: true, autocomplete: "email" }),
      field("Password", { name: "password", type: "password", required: true, autocomplete: "new-password", minlength: 8 }, "At least 8 characters."),
      field("Staff type", { name: "staff_type", required: true }, "For example doctor, nurse, pharmacist."),
      field("Grade", { name: "grade", required: true }, "For example ST3 or Band 5."),
      field("Specialty (optional)", { name: "specialty" }),
      field("Registration body (optional)", { name: "registration_body" }, "GMC, NMC, HCPC, GPhC…"),
      field("Registration number (optional)", { name: "registration_number" }),
      field("Home latitude", number("latitude")),
      field("Home longitude", number("longitude")),
      field("Furthest I travel (km, optional)", { name: "max_travel_km", type: "number", min: 0, step: "any" }),
    ], submit: async (v) => {
      const body = { bank_id: v.bank_id, email: v.email, password: v.password, name: v.name,
        staff_type: v.staff_type, grade: v.grade, latitude: Number(v.latitude), longitude: Number(v.longitude) };
      for (const key of ["specialty", "registration_body", "registration_number"]) if (v[key]) body[key] = v[key];
      if (v.max_travel_km) body.max_travel_km = Number(v.max_travel_km);
      await post("/v1/workers", body);
      await signIn(v.email, v.password);
      navigate("worker", { replace: true });
    } }));
}

export async function render() {
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : "";
  const first = path.split("/")[0];
  if (!signedIn() || !session.me) {
    renderChrome();
    if (first === "register") registerPage(); else signInPage();
    return;
  }
  const pages = pagesFor(session.me);
  let target = pages.find((p) => p.path === first);
  if (first === "shifts" && pages.length) target = pages[0]; // a notification's link: that person's page
  if (!target) { navigate(landing(session.me), { replace: true }); return; }
  renderChrome();
  setTitle(target.title);
  const root = clear(page(), h("p", { class: "loading" }, "Loading…"));
  try {
    await target.module.render(root, { me: session.me, navigate, focusShift: first === "shifts" ? path.split("/")[1] : null });
  } catch (error) {
    clear(root, h("p", { class: "error", role: "alert" }, error.message || String(error)));
  }
}

window.addEventListener("popstate", render);
render();
