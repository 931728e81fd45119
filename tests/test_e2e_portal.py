"""The portal (`/portal/`) in a real browser: Chromium, headless, driven by Playwright against the
whole platform (tests/conftest.py `platform`), calling only the public /v1 API.

The journey: a worker registers and adds its documents, a bank admin verifies them, a coordinator
posts a shift (the rate card shown, a warning before a rate violation), the worker finds it and
applies, the coordinator books it, the shift completes (the shifts timer run as of its end), the
worker submits a timesheet, an approver approves it and a leader sees the fill rate move from 0%
to 100%. Each role's main page is screenshotted to `.run/portal-screenshots/` and checked by axe-core
(no serious or critical violation of WCAG 2.1 A/AA or axe's best practices), and the sign-in form is
reached and focused visibly by Tab.
The worker uses a phone-sized screen.

Chromium is Debian's (`CHROMIUM`, default /usr/bin/chromium; .ci/run installs it): Playwright
cannot download its own browsers here.
"""

import asyncio
import os
import re
from datetime import datetime, timedelta
from pathlib import Path

import eventlet
import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect, sync_playwright

from chassis.clock import LONDON
from compliance.domain import KINDS
from payroll.domain import bank_holidays

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / ".run" / "portal-screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
STAFF_PASSWORD = "staff-password-1"


@pytest.fixture(scope="module")
def browser():
    playwright = sync_playwright().start()
    # without the networking flags Chromium keeps calling out to Google's hosts, which this closed
    # network refuses
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"])
    yield chromium
    chromium.close()
    # Playwright's stop() waits for its driver to exit through asyncio's child watcher, which never
    # wakes under eventlet's monkey-patching (conftest.py): end the driver process ourselves.
    playwright.stop.__self__._client._transport._proc.kill()
    # and leave no asyncio loop marked running in this thread, as stop() would: later tests start
    # their own (aiosmtpd's SMTP server in tests/test_e2e_replicas.py)
    asyncio.events._set_running_loop(None)


def open_page(browser, base_url, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport, timezone_id="Europe/London", locale="en-GB",
                                  is_mobile=viewport is PHONE, has_touch=viewport is PHONE)
    context.set_default_timeout(15000)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    page.goto(base_url + "/portal/")
    return page


def sign_in(page, email, password, lands_on):
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(lands_on)
    expect(page.locator("#signed-in-as")).to_contain_text(email)


def go(page, link):
    """Open a page of the portal from its navigation (a reload would sign out: the token is in memory)."""
    page.get_by_role("navigation").get_by_role("link", name=link).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(link)
    expect(page.locator(".loading")).to_have_count(0)


def until(page, link, locator_of, timeout=20):
    """Re-open a page until a derived view (matching, reports) shows what `locator_of(page)` finds."""
    deadline = datetime.now() + timedelta(seconds=timeout)
    while True:
        go(page, link)
        try:  # the page's requests may still be on their way: give them a few seconds
            locator_of(page).first.wait_for(state="attached", timeout=3000)
            return locator_of(page)
        except PlaywrightTimeout:
            pass
        if datetime.now() > deadline:
            raise AssertionError(f"{link}: never showed what was expected; it shows:\n"
                                 + page.locator("main").inner_text()[:1500] + f"\nerrors: {page.errors}")


def screenshot(page, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


# axe-core (npm, tests/a11y: `make test` runs `npm ci` there), run in the page through the DevTools
# protocol (which the portal's CSP does not govern) with the WCAG 2.0/2.1 A and AA rules and axe's
# best practices; what it rates serious or critical fails the test.
AXE = Path(__file__).resolve().parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
AXE_RUN = """async () => {
  const result = await axe.run(document, {runOnly: {type: "tag",
    values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]}});
  return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({rule: v.id, impact: v.impact, help: v.help,
                  where: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary)}));
}"""


def assert_accessible(page):
    """axe-core finds no serious or critical violation on the page as it stands."""
    assert AXE.exists(), f"{AXE} is missing: `make test` installs it (npm ci --prefix tests/a11y)"
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text() + "\n;undefined")
    violations = page.evaluate(AXE_RUN)
    assert violations == [], violations


def assert_sign_in_keyboard(page):
    """Tab from the top reaches Email, Password and Sign in in that order, each visibly focused."""
    page.locator("body").focus()
    reached = []
    for _ in range(8):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => { const el = document.activeElement; const s = getComputedStyle(el);
            return {name: (el.labels && el.labels[0] ? el.labels[0].textContent : el.textContent).trim(),
                    outline: s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2,
                    left: el === document.body}; }""")
        if focused["left"]:
            break  # past the last control: focus left the page
        assert focused["outline"], f"{focused['name']} has no visible focus"
        reached.append(focused["name"])
    wanted = ["Email", "Password", "Sign in"]
    positions = [reached.index(name) for name in wanted]
    assert positions == sorted(positions), reached


def fill_rate_row(page, rate):
    return (page.get_by_role("table", name="Fill rate by site, all time").get_by_role("row")
            .filter(has_text="North General").filter(has=page.get_by_role("cell", name=rate, exact=True)))


def staff(api, admin, email, role, scope_type, scope_id):
    api.created("/v1/users", {"email": email, "password": STAFF_PASSWORD, "name": email.split("@")[0].title(),
                              "roles": [{"role": role, "scope_type": scope_type, "scope_id": scope_id}]},
                token=admin)
    return email


def test_the_portal_is_served_as_static_files_outside_the_api(api):
    base = api.base_url
    moved = requests.get(base + "/portal", allow_redirects=False, timeout=10)
    assert moved.status_code == 308 and moved.headers["Location"] == "/portal/"
    index = requests.get(base + "/portal/", timeout=10)
    assert index.status_code == 200 and index.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = index.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
    assert index.headers["X-Content-Type-Options"] == "nosniff"
    assert index.headers["Cache-Control"] == "no-cache"
    script = requests.get(base + "/portal/app.js", timeout=10)
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("text/javascript")
    again = requests.get(base + "/portal/app.js", headers={"If-None-Match": script.headers["ETag"]},
                         timeout=10)
    assert again.status_code == 304
    # The app's own routes (and notifications' links) are the page; a missing file is a 404 problem.
    assert requests.get(base + "/portal/shifts/abc", timeout=10).text == index.text
    for missing in ("/portal/nope.js", "/portal/../gateway/service.py", "/portal/%2e%2e/http.py"):
        answer = requests.get(base + missing, timeout=10)
        assert answer.status_code == 404, missing
        assert answer.headers["Content-Type"] == "application/problem+json", missing
    assert not [path for path in api.get("/v1/openapi.json").json()["paths"] if "portal" in path]


def test_every_role_works_its_part_of_a_shift_in_the_browser(platform, api, admin, hospital, browser,
                                                             monkeypatch):
    ctx = hospital
    bank_id, site_id = ctx["bank"]["id"], ctx["site"]["id"]
    base = api.base_url
    bank_admin = "bank_admin.north0@example.org"
    # A coordinator of the whole bank: GET /v1/rate-cards answers only grants on the bank, and the
    # post form shows the rate card.
    coordinator = staff(api, admin, "cory.coordinator@example.org", "rota_coordinator", "bank", bank_id)
    approver = staff(api, admin, "sam.approver@example.org", "timesheet_approver", "site", site_id)
    leader = staff(api, admin, "lee.leader@example.org", "leadership", "bank", bank_id)

    # --- the sign-in page: accessible, keyboard-usable, and a refusal said in words ---------------
    leader_page = open_page(browser, base)
    expect(leader_page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert_accessible(leader_page)
    assert_sign_in_keyboard(leader_page)
    screenshot(leader_page, "sign-in")
    leader_page.get_by_label("Email").fill(leader)
    leader_page.get_by_label("Password").fill("not-the-password")
    leader_page.get_by_role("button", name="Sign in").click()
    expect(leader_page.get_by_role("alert")).to_contain_text("Unauthorized")
    sign_in(leader_page, leader, STAFF_PASSWORD, "Reports")

    # --- a worker registers on a phone and adds its documents ------------------------------------
    worker = open_page(browser, base, PHONE)
    worker.goto(f"{base}/portal/register?bank={bank_id}")
    expect(worker.get_by_label("Bank")).to_have_value(bank_id)
    for label, value in (("Full name", "Ada Lovelace"), ("Email", "ada@example.org"),
                         ("Password", "worker-password-1"), ("Staff type", "doctor"), ("Grade", "ST3"),
                         ("Registration body (optional)", "GMC"),
                         ("Registration number (optional)", "7654321"),
                         ("Home latitude", "53.45"), ("Home longitude", "-2.2")):
        worker.get_by_label(label, exact=True).fill(value)
    worker.get_by_role("button", name="Register").click()
    expect(worker.get_by_role("heading", level=1)).to_have_text("My shifts")
    expect(worker.locator("#signed-in-as")).to_contain_text("ada@example.org")
    expires = (datetime.now(LONDON).date() + timedelta(days=365)).isoformat()
    for kind in KINDS:
        worker.get_by_label("Document", exact=True).select_option(kind)
        worker.get_by_label("Reference").fill(f"ref-{kind}")
        worker.get_by_label("Expires on (optional)").fill(expires)
        worker.get_by_role("button", name="Add document").click()
        expect(worker.get_by_role("cell", name=f"ref-{kind}")).to_be_visible()
    assert worker.errors == []
    worker_id = api.get("/v1/me", token=api.token("ada@example.org", "worker-password-1")).json()["worker_id"]

    # --- the bank admin verifies them from the onboarding queue ----------------------------------
    admin_page = open_page(browser, base)
    sign_in(admin_page, bank_admin, STAFF_PASSWORD, "Bank admin")
    expect(admin_page.locator("#register-link")).to_contain_text(f"/portal/register?bank={bank_id}")
    for kind in KINDS:
        name = f"Verify {kind.replace('_', ' ')} of Ada Lovelace"
        button = admin_page.get_by_role("button", name=name)
        button.click()
        expect(admin_page.get_by_role("button", name=name)).to_have_count(0)
    screenshot(admin_page, "bank-admin")
    assert_accessible(admin_page)
    for _ in range(100):
        if api.get(f"/v1/workers/{worker_id}", token=ctx["bank_admin"]).json()["status"] == "active":
            break
        eventlet.sleep(0.1)
    else:
        raise AssertionError("the worker never became active")

    # --- a coordinator posts a shift: rate card shown, warned before a violation ------------------
    rota = open_page(browser, base)
    sign_in(rota, coordinator, STAFF_PASSWORD, "Rota")
    start = (datetime.now(LONDON) + timedelta(days=2)).replace(hour=8, minute=0, second=0, microsecond=0)
    while start.weekday() >= 5 or start.date() in bank_holidays(start.year):  # the day rate applies
        start += timedelta(days=1)
    end = start + timedelta(hours=8)
    form = rota.get_by_role("form", name="Post a shift")
    form.get_by_label("Site", exact=True).select_option(site_id)
    form.get_by_label("Staff type").fill("doctor")
    form.get_by_label("Grade", exact=True).fill("ST3")
    form.get_by_label("Starts").fill(start.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Ends").fill(end.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_label("Break (minutes)").fill("30")
    expect(rota.locator("#rate-card")).to_contain_text("day £50.00")
    form.get_by_label("Hourly rate (optional, £)").fill("95")
    expect(form.get_by_role("alert")).to_contain_text("rate violation")
    expect(form.get_by_label("Reason for the higher rate")).to_be_visible()
    form.get_by_label("Hourly rate (optional, £)").fill("")
    expect(form.locator(".warning")).to_be_hidden()
    form.get_by_role("button", name="Post shift").click()
    expect(form.get_by_role("status")).to_contain_text("Posted:")
    [shift] = api.get(f"/v1/shifts?site_id={site_id}", token=ctx["coordinator"]).json()["items"]
    assert (shift["status"], shift["hourly_rate"]) == ("open", "50.00")
    expect(rota.locator(".calendar .slot.open")).to_have_count(1)
    screenshot(rota, "rota-coordinator")
    assert_accessible(rota)

    # An error the API returns is shown in words: no rate card for this grade.
    form.get_by_label("Grade", exact=True).fill("FY1")
    form.get_by_role("button", name="Post shift").click()
    expect(form.get_by_role("alert")).to_contain_text("Validation error")

    # A rate above the card goes out with the reason typed beside the warning, to wait for approval.
    form.get_by_label("Grade", exact=True).fill("ST3")
    form.get_by_label("Hourly rate (optional, £)").fill("95")
    form.get_by_role("button", name="Post shift").click()
    expect(form.get_by_role("alert").last).to_contain_text("give a reason")
    form.get_by_label("Reason for the higher rate").fill("Short-notice cover for a sick colleague")
    form.get_by_role("button", name="Post shift").click()
    expect(form.get_by_role("status")).to_contain_text("rate violation: waiting for approval")

    # The leader sees the posted, unfilled shift.
    until(leader_page, "Reports", lambda p: fill_rate_row(p, "0%"))

    # --- the worker finds it (nearest first) and applies ------------------------------------------
    apply = until(worker, "My shifts", lambda p: p.get_by_role("button", name=re.compile("^Apply")))
    apply.first.click()
    expect(worker.get_by_role("table", name="My bookings and applications")).to_contain_text("applied")
    screenshot(worker, "worker")
    assert_accessible(worker)

    # --- the coordinator books the applicant ------------------------------------------------------
    go(rota, "Rota")
    rota.locator(".calendar .slot.open").click()
    rota.get_by_role("button", name="Book Ada Lovelace").click()
    expect(rota.locator("#shift-detail")).to_contain_text("booked")
    assert api.get(f"/v1/shifts/{shift['id']}", token=ctx["coordinator"]).json()["worker_id"] == worker_id

    # --- the shift is worked: its timer runs as of its end, payroll's clock after it ---------------
    with ServiceRpcProxy("shifts", platform.configs["shifts"]) as shifts:
        shifts.run_timers(end.isoformat())
    monkeypatch.setattr("payroll.service.now", lambda: end + timedelta(hours=1))
    go(worker, "My shifts")
    worker.get_by_role("button", name="Submit timesheet").click()
    expect(worker.get_by_role("table", name="My timesheets")).to_contain_text("submitted")

    # --- the approver approves it -----------------------------------------------------------------
    approvals = open_page(browser, base)
    sign_in(approvals, approver, STAFF_PASSWORD, "Approvals")
    screenshot(approvals, "approver")
    assert_accessible(approvals)
    # the rate violation waits with the poster's reason; the approver rejects it, saying why
    expect(approvals.get_by_text("Short-notice cover for a sick colleague", exact=False)).to_be_visible()
    reject = approvals.get_by_role("form", name=re.compile("^Reject shift"))
    reject.get_by_label("Reason for rejecting").fill("Use the card rate")
    reject.get_by_role("button", name="Reject").click()
    expect(approvals.get_by_text("No shifts are waiting.")).to_be_visible()
    [violation] = api.get(f"/v1/rate-violations?bank_id={bank_id}", token=ctx["bank_admin"]).json()["items"]
    assert (violation["status"], violation["reason"]) == ("rejected", "Use the card rate")
    approvals.get_by_role("button", name="Approve timesheet of Ada Lovelace").click()
    expect(approvals.get_by_text("No timesheets are waiting.")).to_be_visible()
    [timesheet] = api.get(f"/v1/timesheets?worker_id={worker_id}", token=ctx["bank_admin"]).json()["items"]
    assert (timesheet["status"], timesheet["hours"], timesheet["amount"]) == ("approved", "7.50", "375.00")

    # --- the leader sees the fill rate change, with the chart, and downloads it -------------------
    until(leader_page, "Reports", lambda p: fill_rate_row(p, "100%"))
    expect(leader_page.get_by_role("img", name=re.compile("Fill rate by site"))).to_be_visible()
    with leader_page.expect_download() as download:
        leader_page.get_by_role("button", name="Download Fill rate as CSV").click()
    assert "North General" in Path(download.value.path()).read_text()
    screenshot(leader_page, "leadership")
    assert_accessible(leader_page)
    for page in (leader_page, worker, admin_page, rota, approvals):
        assert page.errors == []
