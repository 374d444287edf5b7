"""Structured log lines and the environment-driven settings."""

import json
import logging

import pytest

from eoplex_common.context import request_id
from eoplex_common.logs import JsonFormatter
from eoplex_common.settings import ServiceAddresses, ServiceSettings


def test_log_line_is_json_with_service_and_request_id() -> None:
    record = logging.LogRecord(
        "eoplex.test", logging.WARNING, __file__, 1, "hello %s", ("x",), None
    )
    token = request_id.set("abc")
    try:
        line = json.loads(JsonFormatter("auth").format(record))
    finally:
        request_id.reset(token)
    assert line["service"] == "auth"
    assert line["level"] == "warning"
    assert line["message"] == "hello x"
    assert line["request_id"] == "abc"


def test_extra_fields_become_json_fields() -> None:
    record = logging.makeLogRecord({"msg": "GET / 200", "status": 200, "duration_ms": 1.5})
    line = json.loads(JsonFormatter("gateway").format(record))
    assert (line["status"], line["duration_ms"]) == (200, 1.5)


def test_service_addresses_come_from_openeo_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENEO_AUTH_ADDRESS", "auth:50051")
    monkeypatch.setenv("OPENEO_DATA_DISCOVERY_ADDRESS", "catalog:50051")
    addresses = ServiceAddresses().by_service()
    assert addresses["auth"] == "auth:50051"
    assert addresses["data-discovery"] == "catalog:50051"
    assert set(addresses) == {
        "auth", "capabilities", "data-discovery", "processes", "jobs", "files", "executor"
    }  # fmt: skip


def test_infrastructure_urls_are_global(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENEO_MONGODB_URL", "mongodb://db:27017")
    monkeypatch.setenv("OPENEO_S3_ENDPOINT", "https://s3.example")
    settings = ServiceSettings()
    assert settings.mongodb_url == "mongodb://db:27017"
    assert settings.s3_endpoint == "https://s3.example"
