"""The generated OpenAPI document: valid OpenAPI 3, decimals described as the API takes them, and
every status the pipeline answers declared on every operation that can answer it (issue 19)."""

import re

import pytest
from marshmallow import ValidationError
from openapi_spec_validator import validate
from werkzeug.test import EnvironBuilder

from chassis.schemas import Money
from gateway.http import ROUTES, LimitedRequest, has_body, read_json_body
from gateway.openapi import MONEY_PATTERN, build_spec
from gateway.service import GatewayService  # noqa: F401 - declares every route

SPEC = build_spec()
OPERATIONS = {(route.method, route.path): route for route in ROUTES}


def operation(route):
    return SPEC["paths"][route.path][route.method.lower()]


def test_the_document_is_valid_openapi_3():
    validate(SPEC)
    assert SPEC["openapi"].startswith("3.")
    documented = {(method.upper(), path) for path, ops in SPEC["paths"].items() for method in ops}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("text", [
    "0.01", "0.1", "1", "85", "85.5", "85.50", "085.50", "9999.99", "10000", "10000.0", "10000.00",
    "0", "0.0", "0.00", "00", "-5.00", "10000.01", "10001", "40.001", "1e3", " 30.00", "1_000", "NaN",
    "Infinity", "", ".5", "5.", "+5",
])
def test_the_money_pattern_accepts_exactly_what_money_accepts(text):
    try:
        Money().deserialize(text)
        accepted = True
    except ValidationError:
        accepted = False
    assert bool(re.fullmatch(MONEY_PATTERN, text)) == accepted


def test_decimals_are_strings_or_bounded_numbers():
    schemas = SPEC["components"]["schemas"]
    rate = schemas["RateCardPut"]["properties"]["day_rate"]
    string, number = rate["anyOf"]
    assert string == {"type": "string", "pattern": MONEY_PATTERN}
    assert number == {"type": "number", "multipleOf": 0.01, "minimum": 0, "exclusiveMinimum": True,
                      "maximum": 10000}
    assert schemas["Timesheet"]["properties"]["amount"]["type"] == "string"  # answered as "85.50"


@pytest.mark.parametrize("route", ROUTES, ids=lambda route: f"{route.method} {route.path}")
def test_every_status_the_pipeline_answers_is_declared(route):
    declared = set(operation(route)["responses"])
    expected = {str(route.status), "503"}
    if route.roles is not None:
        expected |= {"401", "403"}
    if route.body is not None:
        expected |= {"400", "413", "422"}
    if route.query is not None or route.idempotent:
        expected.add("422")
    if "{" in route.path:
        expected.add("404")
    if route.idempotent or (route.method == "POST" and "{" in route.path and not route.path.endswith("}")):
        expected.add("409")
    assert expected <= declared
    for status in declared - {str(route.status)}:
        content = operation(route)["responses"][status]["content"]
        assert content == {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


def test_the_login_declares_bad_credentials_and_throttling():
    assert {"401", "429"} <= set(operation(OPERATIONS["POST", "/v1/auth/token"])["responses"])


def test_a_body_is_required_unless_every_field_of_a_post_is_optional():
    required = {(route.method, route.path): operation(route)["requestBody"]["required"]
                for route in ROUTES if route.body is not None}
    assert required["PUT", "/v1/sites/{id}/policy"] is True  # all optional, but a PUT
    assert required["POST", "/v1/shifts/{id}/cascade"] is False  # an action of optional fields
    assert required["PATCH", "/v1/workers/{id}"] is False
    assert required["POST", "/v1/shifts"] is True


def request(data):
    return LimitedRequest(EnvironBuilder(method="PUT", data=data).get_environ())


@pytest.mark.parametrize("data, sent", [(b"", False), (b"  \n", False), (b"{}", True), (b"null", True)])
def test_an_empty_body_reads_as_no_body(data, sent):
    assert has_body(request(data)) is sent
    assert read_json_body(request(data)) == ({} if data.strip() in (b"", b"{}") else None)


def test_creates_link_to_what_takes_their_ids():
    links = operation(OPERATIONS["POST", "/v1/shifts"])["responses"]["201"]["links"]
    assert links["book_shift"] == {"operationId": "book_shift",
                                   "parameters": {"path.id": "$response.body#/id"}}
    assert links["submit_timesheet"] == {"operationId": "submit_timesheet",
                                         "requestBody": {"shift_id": "$response.body#/id"}}
    bank_links = operation(OPERATIONS["POST", "/v1/banks"])["responses"]["201"]["links"]
    assert bank_links["list_rate_cards"]["parameters"] == {"query.bank_id": "$response.body#/id"}


def test_a_worker_is_answered_whole_or_as_its_public_part():
    """API.md "Roles and scope": staff of a site see the public part of the workers of their shifts."""
    answered = operation(OPERATIONS["GET", "/v1/workers/{id}"])
    assert answered["responses"]["200"]["content"]["application/json"]["schema"] == {"anyOf": [
        {"$ref": "#/components/schemas/Worker"}, {"$ref": "#/components/schemas/WorkerPublic"}]}
    assert "WorkerPublic" in answered["description"]
    public = SPEC["components"]["schemas"]["WorkerPublic"]
    assert set(public["properties"]) == {"id", "name", "staff_type", "grade", "extra_grades", "bank_number",
                                         "status"}
    assert public["additionalProperties"] is False
    assert set(public["properties"]) < set(SPEC["components"]["schemas"]["Worker"]["properties"])
