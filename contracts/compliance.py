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
    """compliance.cleared / compliance.lapsed: the worker's checks as a whole changed."""

    worker_id = fields.Str(required=True)
    bank_id = fields.Str(required=True)
    status = fields.Str(required=True)
    missing = fields.List(fields.Str(), required=True)
    version = fields.Int(required=True)


COMPLIANCE_EVENTS = {
    ("compliance.document_submitted", 1): DocumentEvent,
    ("compliance.document_verified", 1): DocumentEvent,
    ("compliance.document_rejected", 1): DocumentEvent,
    ("compliance.document_expiring", 1): DocumentExpiring,
    ("compliance.cleared", 1): ComplianceChanged,
    ("compliance.lapsed", 1): ComplianceChanged,
}
