"""Health, readiness and the OpenAPI document."""

import eventlet

from gateway.service import SERVICES


def test_health_and_readiness(platform):
    api = platform.api
    assert api.get("/healthz").status_code == 200
    ready = api.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {service: "ok" for service in ("gateway",) + SERVICES}

    platform.containers["identity"].stop()  # identity goes away: the platform is not ready
    not_ready = api.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["checks"]["identity"].startswith("unavailable")
    assert api.get("/healthz").status_code == 200  # but the gateway itself lives
    eventlet.sleep(0)


def test_openapi_is_generated_from_the_routes(api):
    response = api.get("/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    for path in ("/v1/auth/token", "/v1/me", "/v1/banks", "/v1/organisations", "/v1/sites",
                 "/v1/users", "/v1/workers", "/v1/workers/{id}"):
        assert path in spec["paths"], path
    register = spec["paths"]["/v1/workers"]["post"]
    assert register["security"] == []
    body_schema = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    worker_schema = spec["components"]["schemas"][body_schema.rsplit("/", 1)[1]]
    assert {"bank_id", "email", "password", "staff_type", "grade"} <= set(worker_schema["required"])
    assert spec["paths"]["/v1/me"]["get"]["security"] == [{"bearer": []}]
    params = {p["name"] for p in spec["paths"]["/v1/workers"]["get"]["parameters"]}
    assert {"bank_id", "status", "staff_type", "limit", "cursor"} <= params
    for report in ("fill-rate", "sitrep", "spend", "utilisation", "late-cancellations"):  # JSON or CSV
        content = spec["paths"][f"/v1/reports/{report}"]["get"]["responses"]["200"]["content"]
        assert set(content) == {"application/json", "text/csv"}, report
