"""Event contracts: the marshmallow schema of each event type's `data`, per version.

Producers validate what they emit against these (the unit of work does it), and
consumers may load with them; `python -m contracts.asyncapi` renders the catalogue
as an AsyncAPI document for outside consumers (HR and payroll systems).
"""

import functools

from contracts.compliance import COMPLIANCE_EVENTS
from contracts.identity import IDENTITY_EVENTS
from contracts.matching import MATCHING_EVENTS
from contracts.notifications import NOTIFICATION_EVENTS
from contracts.payroll import PAYROLL_EVENTS
from contracts.shifts import SHIFT_EVENTS

CATALOGUE = {}
for _producer, _events in (("identity", IDENTITY_EVENTS), ("compliance", COMPLIANCE_EVENTS),
                           ("shifts", SHIFT_EVENTS), ("payroll", PAYROLL_EVENTS),
                           ("matching", MATCHING_EVENTS), ("notifications", NOTIFICATION_EVENTS)):
    for (_type, _version), _schema in _events.items():
        CATALOGUE[(_type, _version)] = (_producer, _schema)


@functools.cache
def _validator(event_type, version):
    """One schema instance per contract: building one per event cost a tenth of a millisecond."""
    schema = schema_for(event_type, version)
    return schema() if schema is not None else None


def schema_for(event_type, version=1):
    entry = CATALOGUE.get((event_type, version))
    return entry[1] if entry else None


class UnknownEvent(Exception):
    pass


def validate(event_type, version, data):
    """The data as the contract dumps it; raises if the type is unknown or data breaks it."""
    schema = _validator(event_type, version)
    if schema is None:
        raise UnknownEvent(f"no contract for {event_type} v{version}")
    errors = schema.validate(data)
    if errors:
        raise ValueError(f"{event_type} v{version} data breaks its contract: {errors}")
    return data
