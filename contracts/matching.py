"""Events published by matching on `matching.events`."""

from marshmallow import RAISE, Schema, fields

from contracts.shifts import ShiftSummary


class _Contract(Schema):
    class Meta:
        unknown = RAISE


class Candidate(_Contract):
    worker_id = fields.Str(required=True)
    user_id = fields.Str(required=True)  # whose inbox hears of it
    rank = fields.Int(required=True)  # 1 = best
    distance_km = fields.Float(required=True)
    worked_at_site = fields.Bool(required=True)
    worked_at_organisation = fields.Bool(required=True)


class CandidatesRanked(ShiftSummary):
    """matching.candidates_ranked: a shift opened to a group (its priority group, the bank, or
    agency tiers) and these workers, newly able to take it, may hear of it, best first. Only
    workers not named for this shift before are listed (none hears of one shift twice).
    Times ISO 8601 with offset; the rate a decimal string."""

    stage = fields.Str(required=True)  # priority | bank | agency
    release_event_id = fields.Str(required=True)  # the shifts event this answers
    candidates = fields.List(fields.Nested(Candidate), required=True)


MATCHING_EVENTS = {
    ("matching.candidates_ranked", 1): CandidatesRanked,
}
