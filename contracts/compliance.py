"""Events published by compliance on `compliance.events`."""

from marshmallow import RAISE, Schema, fields


class _Contract(Schema):
    class Meta:
        unknown = RAISE


class DocumentEvent(_Contract):
    worker_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    document_id = fields.Str(required=True)
    kind = fields.Str(required=True)
    status = fields.Str(required=True)
    expires_on = fields.Str(allow_none=True, required=True)


class DocumentExpiring(DocumentEvent):
    days_before = fields.Int(required=True)


class ComplianceChanged(_Contract):
    """compliance.cleared / compliance.uncleared: the worker's checks as a whole changed.
    `version` grows with every change of a worker's status: apply only a newer one.
    `cleared_until` (YYYY-MM-DD or null): while cleared, the last day every required check stays
    covered by the documents verified now; null when none expires, or when not cleared. A
    cleared worker whose horizon moves (a renewal) is published as cleared again."""

    worker_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    status = fields.Str(required=True)
    missing = fields.List(fields.Str(), required=True)
    version = fields.Int(required=True)
    cleared_until = fields.Str(allow_none=True, load_default=None)


class DocumentLapsed(ComplianceChanged):
    """compliance.lapsed: a verified document passed its last valid day (once per document);
    `status`, `missing` and `version` are the worker's compliance after it."""

    document_id = fields.Str(required=True)
    kind = fields.Str(required=True)
    expires_on = fields.Str(required=True)


COMPLIANCE_EVENTS = {
    ("compliance.document_submitted", 1): DocumentEvent,
    ("compliance.document_verified", 1): DocumentEvent,
    ("compliance.document_rejected", 1): DocumentEvent,
    ("compliance.document_expiring", 1): DocumentExpiring,
    ("compliance.cleared", 1): ComplianceChanged,
    ("compliance.uncleared", 1): ComplianceChanged,
    ("compliance.lapsed", 1): DocumentLapsed,
}
