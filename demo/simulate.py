"""The simulated weeks, through the public API, deterministic for a seed.

History (the past `history_days`): coordinators record the cover that was worked as
retrospective shifts (API.md: posted with `worker_id` and a past start, booked and completed at
once, under the same working-time checks). Who worked what comes from the same behaviour model
as the live weeks (grade, distance, specialty, nights, weekends, appetite), day by day; the
platform refuses what breaks a working-time rule and the coordinator asks the next willing
worker. What nobody would work is posted to the bank and stays an open gap.

Live (the coming `horizon_days`, from tomorrow): posting rounds. In each, coordinators post that
round's shifts (to their trust's regulars first for a one-minute window, or to the whole bank;
some instant-book; some above the card rate, approved by the bank's staffing lead) and repost
what workers cancelled; workers who look at the app this round read their shift offers and
`GET /v1/shifts/available` for a week they care about, and apply or (instant book) book what
suits them; coordinators read each shift's applications and book the best applicant, the next
one when the platform refuses (a clashing booking, 11 h rest, 72 h in 7 days, nights in a
row...), then ring round for the week's gaps (the last round: two weeks') and book a willing
worker directly; some bookings are cancelled, by workers and by sites, late ones inside 72 h.
After the last round, short-notice gaps cascade to the agency (approved) and its desk books its
locums.

Then timesheets for the worked history: submitted by the workers (a few late finishes, a few
big overruns that need a second approver or are rejected and corrected), approved by the sites'
approvers, and a pay run for the history weeks per bank.

Determinism: every choice comes from the world's seed and from the platform's answers, and
every answer is decided by the requests before it, not by timing. Requests that could compete
(two workers after one instant-book shift, two coordinators after one worker) go in waves in
which no shift and no worker appears twice, so running them in parallel cannot change an
outcome. The one answer that depends on the clock, a priority window, is kept out of the
choices: non-members consider a priority shift only `PRIORITY_LAG` rounds after it was posted,
and the round waits, if it must, until that window has closed.
"""

import math
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from demo.client import ApiError
from demo.ledger import ShiftRecord, TimesheetRecord
from demo.world import LONDON, distance_km, rng, teams

PRIORITY_MINUTES = 1  # the platform's shortest window: a round stands for hours
PRIORITY_LAG = 2  # rounds before non-members consider a priority shift
MAX_TRIES = 3  # willing workers a coordinator asks for one past shift
MAX_PICKS_PER_LOOK = 4
REST = timedelta(hours=11)  # what an agency desk checks of its locums' diaries
CANCEL_REASONS = ("Unwell", "Childcare fell through", "Booked in error", "Family emergency")
SITE_CANCEL_REASONS = ("Ward closed to admissions", "Activity lower than planned", "Covered internally")


def parse_time(text):
    return datetime.fromisoformat(text) if text else None


class Simulation:
    def __init__(self, api, world, handles, ledger, today, slots, progress):
        self.api, self.world, self.handles, self.ledger = api, world, handles, ledger
        self.today, self.progress = today, progress
        self.seed = world.seed
        self.slots = slots
        self.teams = {bank.key: teams(bank) for bank in world.banks}
        self.workers = {w.key: w for w in world.workers}
        self.members = {bank.key: {org: set(keys) for org, keys in bank.priority_groups.items()}
                        for bank in world.banks}
        self.pools = defaultdict(list)  # (bank, staff type, grade) -> acting workers who may work it
        for w in world.workers:
            if w.acts:
                for grade in w.grades:
                    self.pools[(w.bank_key, w.staff_type, grade)].append(w)
        self.schedule = defaultdict(list)  # worker key -> [ShiftRecord] booked or worked
        self.applied = defaultdict(set)  # worker key -> shift ids applied to
        self.applicants_tried = defaultdict(set)  # shift id -> worker keys a coordinator tried
        self.with_applications = set()  # open shift ids with untried applications
        self.midnight = datetime.combine(today, datetime.min.time(), tzinfo=LONDON)

    # --- helpers --------------------------------------------------------------------------

    def handle(self, bank_key):
        return self.handles[bank_key]

    def coordinator(self, bank_key, site_key):
        return self.handles[bank_key].users[f"coordinator:{self.teams[bank_key][site_key]}"]

    def site_approver(self, bank_key, site_key):
        """The site's timesheet approver (in primary care, the area's bank team that also posts)."""
        team, users = self.teams[bank_key][site_key], self.handles[bank_key].users
        return users.get(f"approver:{team}") or users[f"coordinator:{team}"]

    def worker_caller(self, key):
        return self.handles[self.workers[key].bank_key].workers[key]["caller"]

    def worker_id(self, key):
        return self.handles[self.workers[key].bank_key].workers[key]["id"]

    def site(self, bank_key, site_key):
        return self.world.bank(bank_key).site(site_key)

    def distance(self, worker, bank_key, site_key):
        site = self.site(bank_key, site_key)
        return distance_km(worker.latitude, worker.longitude, site.latitude, site.longitude)

    def shift_body(self, slot, **extra):
        start, end = slot.times(self.today)
        body = {"site_id": self.handle(slot.bank_key).sites[slot.site_key], "staff_type": slot.staff_type,
                "grade": slot.grade, "starts_at": start.isoformat(), "ends_at": end.isoformat(),
                "break_minutes": slot.break_minutes, **extra}
        if slot.specialty:
            body["specialty"] = slot.specialty
        return body

    def record(self, slot, answer, phase, **extra):
        site = self.site(slot.bank_key, slot.site_key)
        rec = ShiftRecord(
            id=answer["id"], slot_key=slot.key, bank_key=slot.bank_key, site_key=slot.site_key,
            org_key=site.org_key, staff_type=slot.staff_type, grade=slot.grade,
            starts_at=parse_time(answer["starts_at"]), ends_at=parse_time(answer["ends_at"]),
            break_minutes=slot.break_minutes, phase=phase, status=answer["status"],
            instant_book=slot.instant_book, release=slot.release if phase == "live" else None,
            priority_until=parse_time(answer.get("priority_until")), posted_round=slot.round,
            rate_violation=bool(answer.get("rate_violation")), slot=slot,
            late_cancellation=bool(answer.get("late_cancellation")), cancelled_by=answer.get("cancelled_by"),
            **extra)
        self.ledger.add_shift(rec)
        if rec.filled and rec.worker_key:
            self.schedule[rec.worker_key].append(rec)
        return rec

    def booked_in_week(self, worker_key, starts_at):
        week = starts_at.astimezone(LONDON).isocalendar()[:2]
        return sum(1 for s in self.schedule[worker_key]
                   if s.filled and s.starts_at.astimezone(LONDON).isocalendar()[:2] == week)

    def busy_that_day(self, worker_key, rec):
        """Booked on the shift's London day already (what a worker says when rung)."""
        day = rec.starts_at.astimezone(LONDON).date()
        return any(s.filled and s.starts_at.astimezone(LONDON).date() == day
                   for s in self.schedule[worker_key])

    def worked_at(self, worker_key, site_key):
        return any(s.site_key == site_key and s.filled for s in self.schedule[worker_key])

    def appeal(self, worker, slot, dist):
        """How much a shift appeals to a worker who may take it (type, grade): 0 beyond its
        reach; less outside its specialty, at night or at weekends for those who avoid them,
        and the further it is; more at its home site or at an enhanced rate."""
        if dist > worker.max_travel_km:
            return 0.0
        score = 1.0
        if slot.specialty and worker.specialty != slot.specialty:
            score *= 0.5 if worker.grade in ("FY1", "FY2") else 0.1
        if slot.night:
            score *= worker.night_pref
        if slot.times(self.today)[0].weekday() >= 5:
            score *= worker.weekend_pref
        if slot.site_key == worker.home_site:
            score *= 1.3
        score *= max(0.25, 1 - dist / (worker.max_travel_km * 1.5))
        if slot.enhanced:
            score *= 1.5
        return score

    def room(self, worker, starts_at, extra=0):
        """Shifts it would still like in the week (Monday to Sunday) of `starts_at`; the keenest
        (appetite 3 or more) take one more than they planned."""
        keen = 1 if worker.appetite >= 3 else 0
        return worker.appetite + keen - self.booked_in_week(worker.key, starts_at) - extra

    # --- history -----------------------------------------------------------------------------

    def history(self):
        past = sorted((s for s in self.slots if s.day < 0), key=lambda s: (s.day, s.key))
        step = self.progress.task("history: cover worked, recorded afterwards", len(past))
        for day in sorted({s.day for s in past}):
            self._history_day(day, [s for s in past if s.day == day], step)

    def _history_day(self, day, slots, step):
        r = rng(self.seed, "history", day)
        willing = {}
        for slot in slots:
            candidates = []
            start = slot.times(self.today)[0]
            for worker in self.pools[(slot.bank_key, slot.staff_type, slot.grade)]:
                score = self.appeal(worker, slot, self.distance(worker, slot.bank_key, slot.site_key))
                u = r.random()
                if score >= worker.picky and self.room(worker, start) > 0:
                    candidates.append((-math.log(u) / score, worker.key))  # weighted random order
            willing[slot.key] = [k for _, k in sorted(candidates)]
        busy_today, tries, cursor = set(), defaultdict(int), defaultdict(int)
        pending = list(slots)
        gaps = []
        while pending:
            wave, reserved, later = [], set(), []
            for slot in pending:
                names = willing[slot.key]
                while cursor[slot.key] < len(names) and (names[cursor[slot.key]] in busy_today
                                                         or names[cursor[slot.key]] in reserved):
                    cursor[slot.key] += 1
                if cursor[slot.key] >= len(names) or tries[slot.key] >= MAX_TRIES:
                    gaps.append(slot)
                    continue
                worker_key = names[cursor[slot.key]]
                cursor[slot.key] += 1
                reserved.add(worker_key)
                wave.append((slot, worker_key))

            def record_worked(item):
                slot, worker_key = item
                body = self.shift_body(slot, worker_id=self.worker_id(worker_key))
                try:
                    return self.coordinator(slot.bank_key, slot.site_key).create("/v1/shifts", body)
                except ApiError as error:
                    if error.status == 409:
                        return error
                    raise

            for (slot, worker_key), answer in zip(wave, self.api.map(record_worked, wave), strict=True):
                if isinstance(answer, ApiError):
                    self.ledger.refused("history", answer)
                    tries[slot.key] += 1
                    later.append(slot)
                    continue
                self.record(slot, answer, "history", worker_key=worker_key, booked_by="retrospective")
                busy_today.add(worker_key)
                step()
            pending = later
        self._history_gaps(gaps, r, step)

    def _history_gaps(self, gaps, r, step):
        """Shifts nobody worked: posted to the bank (they stay open); a few were called off."""
        cancel = {slot.key for slot in gaps if r.random() < 0.12}

        def post(slot):
            coordinator = self.coordinator(slot.bank_key, slot.site_key)
            answer = coordinator.create("/v1/shifts", self.shift_body(slot, publish={"to": "bank"}))
            if slot.key in cancel:
                answer = coordinator.post(f"/v1/shifts/{answer['id']}/cancel",
                                          {"reason": r_reason(slot.key, SITE_CANCEL_REASONS)})
            return answer

        for slot, answer in zip(gaps, self.api.map(post, gaps, step), strict=True):
            self.record(slot, answer, "history")

    # --- live --------------------------------------------------------------------------------

    def live(self):
        future = [s for s in self.slots if s.day > 0]
        rounds = self.world.size.rounds
        reposts = []
        step = self.progress.task("coming weeks: posting rounds", rounds)
        for round_no in range(rounds):
            batch = sorted((s for s in future if s.round == round_no), key=lambda s: s.key) + reposts
            self._wait_for_windows(round_no)
            self._post(batch, round_no)
            acting = self._acting(round_no)
            views = self._look(acting, round_no)
            picks = self._choose(acting, views, round_no)
            self._apply(picks)
            self._instant_book(picks, round_no)
            self._coordinators_book()
            self._ring_round(round_no, days=14 if round_no == rounds - 1 else 7)
            reposts = self._cancellations(round_no, last=round_no == rounds - 1)
            step()
        self._agency()

    def _wait_for_windows(self, round_no):
        """Before non-members consider the priority shifts of round `round_no - PRIORITY_LAG`,
        their windows must have closed by the clock (they usually have)."""
        closing = [s.priority_until for s in self.ledger.shifts.values()
                   if s.phase == "live" and s.priority_until is not None
                   and s.posted_round is not None and s.posted_round <= round_no - PRIORITY_LAG]
        if closing:
            wait = (max(closing) - datetime.now(UTC)).total_seconds() + 1
            if wait > 0:
                self.ledger.counts["seconds waited for priority windows"] += math.ceil(wait)
                time.sleep(wait)

    def _visible(self, worker, rec, round_no):
        if rec.release != "priority" or rec.posted_round is None:
            return True
        if worker.key in self.members[rec.bank_key].get(rec.org_key, ()):
            return True
        return round_no - rec.posted_round >= PRIORITY_LAG

    def _post(self, batch, round_no):
        approver_needed = []

        def post(slot):
            extra = {"instant_book": slot.instant_book}
            handle = self.handle(slot.bank_key)
            org_key = self.site(slot.bank_key, slot.site_key).org_key
            if slot.release == "priority":
                extra["publish"] = {"to": "priority", "priority_group_id": handle.groups[org_key],
                                    "priority_minutes": PRIORITY_MINUTES}
            else:
                extra["publish"] = {"to": "bank"}
            if slot.enhanced:
                cards = [c for c in self.world.bank(slot.bank_key).rate_cards
                         if c[0] == slot.staff_type and c[1] == slot.grade]
                extra["hourly_rate"] = f"{max(cards[0][2:]) * 1.25:.2f}"
            coordinator = self.coordinator(slot.bank_key, slot.site_key)
            return coordinator.create("/v1/shifts", self.shift_body(slot, **extra))

        for slot, answer in zip(batch, self.api.map(post, batch), strict=True):
            slot.round = round_no
            rec = self.record(slot, answer, "live")
            if answer["status"] == "pending_approval":
                approver_needed.append(rec)

        def approve(rec):
            return self.handle(rec.bank_key).users["approver"].post(
                f"/v1/shifts/{rec.id}/approve", {"reason": "Hard-to-fill shift: enhanced rate agreed"})

        for rec, answer in zip(approver_needed, self.api.map(approve, approver_needed), strict=True):
            self.ledger.update(rec.id, answer, priority_until=parse_time(answer.get("priority_until")))
            self.ledger.counts["rate violations approved"] += 1

    def _acting(self, round_no):
        return [w for w in self.world.workers
                if w.acts and rng(self.seed, "looks", w.key, round_no).random() < w.keen]

    def _look(self, acting, round_no):
        """Each worker (some of them) reads its shift offers, and the shifts available in a week
        it cares about. What is available is decided by the shifts service at that moment; the
        inbox (derived, seconds behind) is read and counted, not used to choose."""
        horizon_weeks = max(1, self.world.size.horizon_days // 7)
        step = self.progress.task(f"round {round_no + 1}: workers look", len(acting))

        def look(worker):
            r = rng(self.seed, "look", worker.key, round_no)
            caller = self.worker_caller(worker.key)
            offers = None
            if r.random() < 0.3:
                inbox = caller.get("/v1/notifications", unread="true", type="shift.available", limit=20)
                offers = len(inbox["items"])
                if inbox["items"]:
                    caller.post(f"/v1/notifications/{inbox['items'][0]['id']}/read")
            # the week it still has most room in (from tomorrow, seven days at a time)
            weeks = [self.midnight + timedelta(days=1 + 7 * k) for k in range(horizon_weeks)]
            room = [worker.appetite - sum(1 for s in self.schedule[worker.key] if s.filled
                                          and w <= s.starts_at < w + timedelta(days=7)) for w in weeks]
            start = weeks[max(range(horizon_weeks), key=lambda k: (room[k], r.random()))]
            view = caller.get("/v1/shifts/available", **{"from": start.isoformat(),
                                                          "to": (start + timedelta(days=7)).isoformat()})
            return offers, [item["id"] for item in view["items"]]

        views = {}
        for worker, (offers, ids) in zip(acting, self.api.map(look, acting, step), strict=True):
            if offers is not None:
                self.ledger.notifications["shift.available (unread, seen)"] += offers
                self.ledger.counts["inboxes read"] += 1
            views[worker.key] = ids
            self.ledger.counts["available lists read"] += 1
        return views

    def _choose(self, acting, views, round_no):
        """What each worker goes for: the shifts it may take that appeal to it enough, best
        first, as many as it still has room for in their weeks."""
        picks = {}
        for worker in acting:
            r = rng(self.seed, "choose", worker.key, round_no)
            scored = []
            for shift_id in sorted(views[worker.key], key=lambda i: self.ledger.shifts[i].slot_key
                                   if i in self.ledger.shifts else i):
                rec = self.ledger.shifts.get(shift_id)
                if rec is None or rec.status != "open" or shift_id in self.applied[worker.key]:
                    continue
                if not self._visible(worker, rec, round_no):
                    continue
                score = self.appeal(worker, rec.slot, self.distance(worker, rec.bank_key, rec.site_key))
                score *= r.uniform(0.8, 1.2)
                if score >= worker.picky:
                    scored.append((-score, shift_id))
            chosen, taken = [], defaultdict(int)
            for _, shift_id in sorted(scored):
                rec = self.ledger.shifts[shift_id]
                week = rec.starts_at.astimezone(LONDON).isocalendar()[:2]
                if self.room(worker, rec.starts_at, taken[week]) > 0 and len(chosen) < MAX_PICKS_PER_LOOK:
                    chosen.append(shift_id)
                    taken[week] += 1
            if chosen:
                picks[worker.key] = chosen
        return picks

    def _apply(self, picks):
        items = [(w, s) for w, ids in sorted(picks.items()) for s in ids
                 if not self.ledger.shifts[s].instant_book]

        def apply(item):
            worker_key, shift_id = item
            try:
                return self.worker_caller(worker_key).create(f"/v1/shifts/{shift_id}/applications", {})
            except ApiError as error:
                if error.status == 409:
                    return error
                raise

        for (worker_key, shift_id), answer in zip(items, self.api.map(apply, items), strict=True):
            self.applied[worker_key].add(shift_id)
            if isinstance(answer, ApiError):
                self.ledger.refused("application", answer)
                continue
            self.ledger.counts["applications"] += 1
            self.with_applications.add(shift_id)

    def _instant_book(self, picks, round_no):
        order = sorted(picks)
        rng(self.seed, "instant order", round_no).shuffle(order)
        queues = {w: [s for s in picks[w] if self.ledger.shifts[s].instant_book] for w in order}
        while any(queues.values()):
            wave, claimed = [], set()
            for worker_key in order:
                queue = queues[worker_key]
                if queue and queue[0] not in claimed:
                    claimed.add(queue[0])
                    wave.append((worker_key, queue.pop(0)))
            self._book_wave(wave, by="worker")

    def _book_wave(self, wave, by):
        """Bookings of distinct shifts by distinct workers, in parallel; returns the refused."""

        def book(item):
            worker_key, shift_id = item
            rec = self.ledger.shifts[shift_id]
            if by == "worker":
                caller = self.worker_caller(worker_key)
            elif by == "agency":
                caller = self.handle(rec.bank_key).users["agency"]
            else:
                caller = self.coordinator(rec.bank_key, rec.site_key)
            try:
                return caller.post(f"/v1/shifts/{shift_id}/book", {"worker_id": self.worker_id(worker_key)})
            except ApiError as error:
                if error.status == 409:
                    return error
                raise

        refused = []
        for (worker_key, shift_id), answer in zip(wave, self.api.map(book, wave), strict=True):
            if isinstance(answer, ApiError):
                self.ledger.refused(f"booking by {by}", answer)
                refused.append((worker_key, shift_id))
                continue
            rec = self.ledger.update(shift_id, answer, worker_key=worker_key, booked_by=by,
                                     agency_worker=self.workers[worker_key].agency)
            self.schedule[worker_key].append(rec)
            self.ledger.counts[f"booked by {by}"] += 1
        return refused

    def _book_in_waves(self, queues, by, tries=None):
        """queues: {shift id: [worker keys, best first]}. Each wave books, for every shift still
        open, its next worker not already asked in this wave; refused, the shift asks its next
        in the following wave (`tries` at most)."""
        order = sorted(queues, key=lambda s: self.ledger.shifts[s].slot_key)
        asked = defaultdict(int)
        while True:
            wave, reserved = [], set()
            for shift_id in order:
                queue = queues[shift_id]
                if not queue or self.ledger.shifts[shift_id].status != "open":
                    continue
                if tries is not None and asked[shift_id] >= tries:
                    continue
                if queue[0] in reserved:
                    continue
                worker_key = queue.pop(0)
                reserved.add(worker_key)
                asked[shift_id] += 1
                self.applicants_tried[shift_id].add(worker_key)
                wave.append((worker_key, shift_id))
            if not wave:
                return
            self._book_wave(wave, by=by)

    def _coordinators_book(self):
        """Each coordinator reads the applications of its open shifts that had new ones and
        books the best applicant: one who worked at the site before, then the nearest."""
        shifts = sorted((s for s in self.with_applications if self.ledger.shifts[s].status == "open"),
                        key=lambda s: self.ledger.shifts[s].slot_key)
        self.with_applications = set()

        def read(shift_id):
            rec = self.ledger.shifts[shift_id]
            coordinator = self.coordinator(rec.bank_key, rec.site_key)
            return [a["worker_id"] for a in coordinator.pages(f"/v1/shifts/{shift_id}/applications")]

        queues = {}
        for shift_id, applicant_ids in zip(shifts, self.api.map(read, shifts), strict=True):
            rec = self.ledger.shifts[shift_id]
            keys = {self.handle(rec.bank_key).worker_of_id[i] for i in applicant_ids}
            queues[shift_id] = sorted(keys - self.applicants_tried[shift_id], key=lambda k: (
                not self.worked_at(k, rec.site_key),
                round(self.distance(self.workers[k], rec.bank_key, rec.site_key), 1), k))
        self._book_in_waves(queues, by="coordinator")

    def _ring_round(self, round_no, days):
        """Gaps in the coming `days` still open after a round: the coordinator rings round and
        books directly a worker who would take it (the choice made for the history weeks),
        asking two at most. Priority shifts only once their window has closed."""
        r = rng(self.seed, "ring round", round_no)
        soon = self.midnight + timedelta(days=days + 1)
        queues = {}
        for rec in sorted(self.ledger.shifts.values(), key=lambda s: s.slot_key):
            if rec.phase != "live" or rec.status != "open" or rec.starts_at >= soon:
                continue
            if rec.release == "priority" and round_no - rec.posted_round < PRIORITY_LAG:
                continue
            candidates = []
            for worker in self.pools[(rec.bank_key, rec.staff_type, rec.grade)]:
                score = self.appeal(worker, rec.slot, self.distance(worker, rec.bank_key, rec.site_key))
                u = r.random()
                if (score >= worker.picky and self.room(worker, rec.starts_at) > 0
                        and worker.key not in self.applicants_tried[rec.id]
                        and not self.busy_that_day(worker.key, rec)):
                    candidates.append((-math.log(u) / score, worker.key))
            if candidates:
                queues[rec.id] = [k for _, k in sorted(candidates)]
        self.ledger.counts["gaps rung round"] += len(queues)
        self._book_in_waves(queues, by="coordinator (ring round)", tries=2)

    def _cancellations(self, round_no, last):
        """Some bookings are cancelled by their workers (reposted next round), some shifts by
        their sites. Never a shift three days ahead: whether that is inside 72 h depends on the
        time of day, and the figures must not."""
        r = rng(self.seed, "cancellations", round_no)
        by_worker, by_site = [], []
        for rec in sorted((s for s in self.ledger.shifts.values() if s.phase == "live"),
                          key=lambda s: s.slot_key):
            if rec.slot.day == 3:
                continue
            u = r.random()
            if rec.status == "booked" and rec.booked_by in ("worker", "coordinator") and u < 0.03:
                by_worker.append(rec)
            elif rec.status == "booked" and 0.03 <= u < 0.036:
                by_site.append(rec)
            elif rec.status == "open" and u < 0.012:
                by_site.append(rec)

        def cancel(item):
            rec, side = item
            caller = (self.worker_caller(rec.worker_key) if side == "worker"
                      else self.coordinator(rec.bank_key, rec.site_key))
            reasons = CANCEL_REASONS if side == "worker" else SITE_CANCEL_REASONS
            return caller.post(f"/v1/shifts/{rec.id}/cancel", {"reason": r_reason(rec.slot_key, reasons)})

        items = [(rec, "worker") for rec in by_worker] + [(rec, "site") for rec in by_site]
        reposts = []
        for (rec, side), answer in zip(items, self.api.map(cancel, items), strict=True):
            was_booked = rec.status == "booked"
            self.ledger.update(rec.id, answer)
            late = " late" if answer.get("late_cancellation") else ""
            self.ledger.counts[f"cancelled by {side}{' (booked)' if was_booked else ''}{late}"] += 1
            if side == "worker" and not last:
                reposts.append(replace(rec.slot, key=rec.slot.key + "r", release="bank", enhanced=False,
                                       repost_of=rec.id))
        return reposts

    def _agency(self):
        """Short-notice gaps at the trusts go to the agency (the staffing lead approves the
        cascade) and its desk books its own locums."""
        for handle in self.handles.values():
            if not handle.bank.agency_key:
                continue
            locums = [w for w in handle.bank.workers if w.agency]
            # priority shifts whose window the rounds did not wait for may still be in it
            last = self.world.size.rounds - 1
            gaps = sorted((s for s in self.ledger.of_bank(handle.bank.key)
                           if s.phase == "live" and s.status == "open" and s.slot.day <= 4
                           and (s.release != "priority" or s.posted_round <= last - PRIORITY_LAG)),
                          key=lambda s: s.slot_key)
            self._wait_for_windows(last)
            step = self.progress.task("agency: short-notice gaps cascaded", len(gaps))

            def cascade(rec, approver=handle.users["approver"]):
                asked = self.coordinator(rec.bank_key, rec.site_key).post(f"/v1/shifts/{rec.id}/cascade",
                                                                          {"tier": 1})
                if asked["status"] == "agency":
                    return asked
                return approver.post(f"/v1/shifts/{rec.id}/approve",
                                     {"reason": "No bank cover at short notice"})

            for rec, answer in zip(gaps, self.api.map(cascade, gaps, step), strict=True):
                self.ledger.update(rec.id, answer)
                self.ledger.counts["cascaded to agency"] += 1
            for rec in gaps:  # the desk works down its list: two locums free that day, at most
                free = [locum for locum in locums if rec.grade in locum.grades and not any(
                    s.filled and s.starts_at < rec.ends_at + REST and rec.starts_at < s.ends_at + REST
                    for s in self.schedule[locum.key])]
                for locum in free[:2]:
                    if rec.status == "agency":
                        self._book_wave([(locum.key, rec.id)], by="agency")

    # --- timesheets and pay ------------------------------------------------------------------

    def timesheets_and_pay(self):
        worked = sorted((s for s in self.ledger.shifts.values() if s.phase == "history" and s.status ==
                         "completed"), key=lambda s: s.slot_key)
        plans = {}
        for rec in worked:
            r = rng(self.seed, "timesheet", rec.slot_key)
            u = r.random()
            room = self.midnight - rec.ends_at  # a claim must end by now, whatever the time of day
            if u < 0.05:
                continue  # not submitted yet
            if u < 0.07 and room > timedelta(hours=3):
                plans[rec.id] = ("overrun", timedelta(hours=3), r.random() < 0.5)
            elif u < 0.15 and room > timedelta(minutes=45):
                plans[rec.id] = ("late finish", timedelta(minutes=r.choice((15, 30, 45))), False)
            elif u < 0.17:
                plans[rec.id] = ("early finish", timedelta(minutes=-60), False)
            else:
                plans[rec.id] = ("as rota", timedelta(0), r.random() < 0.03)
        claims = [rec for rec in worked if rec.id in plans]
        step = self.progress.task("timesheets submitted", len(claims))

        def submit(rec, extra=None):
            extra = plans[rec.id][1] if extra is None else extra
            return self.worker_caller(rec.worker_key).create("/v1/timesheets", {
                "shift_id": rec.id, "started_at": rec.starts_at.isoformat(),
                "ended_at": (rec.ends_at + extra).isoformat(), "break_minutes": rec.break_minutes})

        submitted = {}
        for rec, answer in zip(claims, self.api.map(submit, claims, step), strict=True):
            submitted[rec.id] = self._timesheet(rec, answer)

        # Approvals: site approvers; a big overrun is either rejected (and claimed again as the
        # rota says) or approved twice, the second time by the bank's staffing lead.
        step = self.progress.task("timesheets approved", len(claims))

        def decide(rec):
            kind, _, flag = plans[rec.id]
            sheet = submitted[rec.id]
            approver = self.site_approver(rec.bank_key, rec.site_key)
            if kind == "as rota" and flag:
                return [("left", sheet)]  # the approver has not got to it yet
            if kind == "overrun" and flag:
                rejected = approver.post(f"/v1/timesheets/{sheet.id}/reject",
                                         {"reason": "Claimed hours do not match the rota; please correct."})
                again = submit(rec, timedelta(0))
                approved = approver.post(f"/v1/timesheets/{again['id']}/approve")
                return [("rejected", rejected), ("resubmitted", again), ("approved", approved)]
            first = approver.post(f"/v1/timesheets/{sheet.id}/approve")
            if first["status"] == "approved":
                return [("approved", first)]
            second = self.handle(rec.bank_key).users["approver"].post(f"/v1/timesheets/{sheet.id}/approve")
            return [("first approval", first), ("approved", second)]

        for rec, steps in zip(claims, self.api.map(decide, claims, step), strict=True):
            for what, answer in steps:
                if what == "resubmitted":
                    self._timesheet(rec, answer)
                elif what != "left":
                    self.ledger.timesheets[answer["id"]].status = answer["status"]
                self.ledger.counts[f"timesheets {what}"] += 1

        step = self.progress.task("pay runs closed", len(self.handles))
        first_day = (self.today - timedelta(days=self.world.size.history_days)).isoformat()
        yesterday = (self.today - timedelta(days=1)).isoformat()
        for key, handle in self.handles.items():
            run = handle.users["admin"].create("/v1/pay-runs", {
                "bank_id": handle.id, "period_start": first_day, "period_end": yesterday})
            self.ledger.pay_runs[key] = run
            step()

    def _timesheet(self, rec, answer):
        sheet = TimesheetRecord(answer["id"], rec.id, rec.worker_key, answer["status"],
                                answer["amount"], answer["hours"], answer.get("resubmission_of"))
        self.ledger.timesheets[sheet.id] = sheet
        self.ledger.counts["timesheets submitted"] += 1
        return sheet


def r_reason(key, reasons):
    return reasons[sum(map(ord, key)) % len(reasons)]
