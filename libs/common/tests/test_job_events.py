"""The batch-job event contract: subjects and payloads round-trip, off-contract input is refused."""

import json
from datetime import UTC, datetime

import pytest

from eoplex_common.job_events import (
    InvalidJobEvent,
    LogEvent,
    ProgressEvent,
    StatusEvent,
    log_payload,
    parse_event,
    parse_subject,
    progress_payload,
    status_payload,
    subject,
)

TIME = datetime(2024, 5, 1, 12, 30, 15, tzinfo=UTC)


def test_subject_round_trip() -> None:
    assert subject("j-abc", "status") == "jobs.j-abc.status"
    assert parse_subject("jobs.j-abc.log") == ("j-abc", "log")


@pytest.mark.parametrize("value", ["jobs.j-1", "jobs..status", "jobs.j-1.other", "x.j-1.log"])
def test_parse_subject_refuses_other_subjects(value: str) -> None:
    with pytest.raises(InvalidJobEvent):
        parse_subject(value)


def test_status_payload_is_the_documented_json() -> None:
    assets = [{"name": "result.tif", "key": "jobs/j-1/result.tif"}]
    payload = status_payload("finished", assets=assets, usage={"cpu": 1.5}, time=TIME)
    assert json.loads(payload) == {
        "status": "finished",
        "time": "2024-05-01T12:30:15Z",
        "message": "",
        "assets": assets,
        "usage": {"cpu": 1.5},
    }
    assert parse_event("status", payload) == StatusEvent("finished", TIME, "", assets, {"cpu": 1.5})


def test_progress_is_clamped() -> None:
    assert json.loads(progress_payload(140, time=TIME)) == {
        "progress": 100.0,
        "time": "2024-05-01T12:30:15Z",
    }
    assert parse_event("progress", progress_payload(42.5, time=TIME)) == ProgressEvent(42.5, TIME)


def test_log_round_trip() -> None:
    payload = log_payload("error", "boom", data={"code": "X"}, time=TIME)
    assert parse_event("log", payload) == LogEvent("error", "boom", TIME, {"code": "X"})


def test_builders_refuse_values_off_contract() -> None:
    with pytest.raises(ValueError):
        status_payload("queued")
    # `running` is the scheduler's: it writes it when it launches the executor.
    with pytest.raises(ValueError):
        status_payload("running")
    with pytest.raises(ValueError):
        log_payload("fatal", "x")


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("status", b"not json"),
        ("status", b"[]"),
        ("status", b'{"status": "queued", "time": "2024-05-01T00:00:00Z"}'),
        ("status", b'{"status": "finished", "time": "yesterday"}'),
        ("status", b'{"status": "finished", "time": "2024-05-01T00:00:00"}'),
        ("progress", b'{"progress": "half", "time": "2024-05-01T00:00:00Z"}'),
        ("log", b'{"level": "fatal", "message": "x", "time": "2024-05-01T00:00:00Z"}'),
    ],
)
def test_parse_event_refuses_payloads_off_contract(kind: str, payload: bytes) -> None:
    with pytest.raises(InvalidJobEvent):
        parse_event(kind, payload)  # type: ignore[arg-type]
