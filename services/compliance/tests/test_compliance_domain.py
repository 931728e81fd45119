"""Compliance's pure rules."""

from datetime import date, timedelta

import pytest

from chassis.errors import Conflict, Invalid
from compliance import domain
from compliance.domain import Document, assess, eligibility_reasons, notice_due

TODAY = date(2026, 11, 23)
ALL = list(domain.KINDS)


def verified(kind, expires_on=None):
    return Document(kind, "verified", expires_on)


def test_cleared_when_every_required_kind_is_verified_and_unexpired():
    documents = [verified(kind, TODAY + timedelta(days=365)) for kind in ALL]
    assert assess(ALL, documents, TODAY).status == "cleared"
    assert assess(ALL, documents, TODAY).missing == []


def test_the_last_valid_day_still_counts():
    documents = [verified(kind) for kind in ALL[1:]] + [verified(ALL[0], TODAY)]
    assert assess(ALL, documents, TODAY).status == "cleared"
    assert assess(ALL, documents, TODAY + timedelta(days=1)).status == "expired"


def test_pending_while_documents_are_missing_or_unverified_and_expired_once_one_lapsed():
    submitted = [Document(kind, "submitted") for kind in ALL]
    assert assess(ALL, submitted, TODAY).status == "pending"
    assert assess(ALL, submitted, TODAY).missing == ALL
    lapsed = [verified(kind) for kind in ALL[1:]] + [Document(ALL[0], "expired", TODAY - timedelta(days=1))]
    result = assess(ALL, lapsed, TODAY)
    assert result.status == "expired" and result.missing == [ALL[0]]


def test_a_renewal_clears_a_lapsed_kind_and_history_does_not_matter():
    documents = [verified(kind) for kind in ALL[1:]] + [
        Document(ALL[0], "expired", TODAY - timedelta(days=10)),
        Document(ALL[0], "rejected", TODAY + timedelta(days=100)),
        verified(ALL[0], TODAY + timedelta(days=200)),
    ]
    assert assess(ALL, documents, TODAY).status == "cleared"


def test_only_required_kinds_count():
    assert assess(["dbs"], [verified("dbs")], TODAY).status == "cleared"


def test_expiring_lists_verified_documents_within_30_days():
    in_30, in_31 = TODAY + timedelta(days=30), TODAY + timedelta(days=31)
    documents = [verified("dbs", in_30), verified("identity", in_31),
                 Document("references", "submitted", TODAY + timedelta(days=3))]
    assert assess(ALL, documents, TODAY).expiring == [{"kind": "dbs", "expires_on": in_30}]


@pytest.mark.parametrize("days_left,notice", [
    (31, None), (30, 30), (15, 30), (14, 14), (2, 14), (1, 1), (0, 1), (-1, domain.LAPSED),
])
def test_the_tightest_notice_reached_is_due(days_left, notice):
    assert notice_due(TODAY + timedelta(days=days_left), TODAY) == notice


def test_documents_without_expiry_never_warn():
    assert notice_due(None, TODAY) is None


def test_only_submitted_documents_can_be_verified_or_rejected():
    assert domain.verify("submitted", "verified") == "verified"
    for status in ("verified", "rejected", "expired"):
        with pytest.raises(Conflict):
            domain.verify(status, "verified")


def test_eligibility_names_each_reason():
    documents = [verified(kind) for kind in ALL[2:]] + [verified(ALL[0], TODAY + timedelta(days=5))]
    reasons = eligibility_reasons(ALL, documents, TODAY + timedelta(days=10), "nurse", "doctor")
    assert reasons == ["staff type is nurse, not doctor", f"{ALL[0]} has expired by 2026-12-03",
                       f"{ALL[1]} is not verified"]
    assert eligibility_reasons(ALL, documents + [verified(ALL[1])], TODAY, "nurse", "nurse") == []


def test_dates_are_checked():
    assert domain.check_dates(TODAY, TODAY - timedelta(days=1), TODAY) == {
        "expires_on": ["Must not be in the past.", "Must not be before issued_on."]}
    assert domain.check_dates(TODAY + timedelta(days=1), None, TODAY) == {
        "issued_on": ["Must not be in the future."]}
    assert domain.check_dates(TODAY - timedelta(days=400), TODAY, TODAY) == {}


def test_an_expired_document_cannot_be_verified_but_can_be_rejected():
    yesterday = TODAY - timedelta(days=1)
    with pytest.raises(Conflict):
        domain.verify("submitted", "verified", yesterday, TODAY)
    assert domain.verify("submitted", "verified", TODAY, TODAY) == "verified"
    assert domain.verify("submitted", "rejected", yesterday, TODAY) == "rejected"


def test_a_professional_registration_claims_a_body_and_a_number():
    assert domain.registration_claim("dbs", "x", None, None) == (None, None)
    assert domain.registration_claim("professional_registration", "12a-345", None, "nmc") == ("NMC", "12A345")
    assert domain.registration_claim("professional_registration", "1", "GMC", "NMC") == ("GMC", "1")
    for reference, profile_body in (("123", None), ("--", "NMC")):
        with pytest.raises(Invalid):
            domain.registration_claim("professional_registration", reference, None, profile_body)


def test_only_crossing_into_or_out_of_cleared_is_published():
    cleared, pending = assess(["dbs"], [verified("dbs")], TODAY), assess(["dbs"], [], TODAY)
    expired = assess(["dbs"], [Document("dbs", "expired", TODAY)], TODAY)
    assert domain.status_event("pending", cleared) == "compliance.cleared"
    assert domain.status_event("cleared", expired) == "compliance.uncleared"
    assert domain.status_event("expired", pending) is None
    assert domain.status_event("cleared", cleared) is None


def test_a_renewal_counts_when_it_outlives_the_document():
    document = verified("dbs", TODAY)
    assert domain.renewed(document, [verified("dbs", TODAY + timedelta(days=1))])
    assert not domain.renewed(document, [verified("dbs", TODAY), verified("identity"),
                                         Document("dbs", "submitted", TODAY + timedelta(days=9))])


def test_required_kinds_keep_the_canonical_order_without_repeats():
    assert domain.canonical_kinds(["dbs", "identity", "dbs"]) == ["identity", "dbs"]


def test_cleared_until_is_the_earliest_of_each_required_kinds_latest_expiry():
    soon, later, renewal = (TODAY + timedelta(days=d) for d in (10, 200, 400))
    documents = [verified("dbs", soon), verified("dbs", renewal), verified("identity", later)] + [
        verified(kind) for kind in ALL if kind not in ("dbs", "identity")]
    assessment = assess(ALL, documents, TODAY)
    assert (assessment.status, assessment.cleared_until) == ("cleared", later)
    assert assess(ALL, [verified(kind) for kind in ALL], TODAY).cleared_until is None
    assert assess(ALL, documents[1:], TODAY).cleared_until == later  # only required kinds count
    # A cleared worker whose horizon moves is published as cleared again (a renewal).
    assert domain.status_event("cleared", assessment, soon) == "compliance.cleared"
    assert domain.status_event("cleared", assessment, later) is None
