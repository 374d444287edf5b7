"""The jobs service's messages: a stored job's usage as `UsageMetric`s."""

from eoplex_jobs.servicer import log_entry, usage_message
from eoplex_proto.openeo.jobs.v1 import jobs_pb2 as pb


def test_usage_keeps_counts_whole_and_measurements_fractional() -> None:
    usage = {
        "cpu": {"value": 1.25, "unit": "cpu-seconds"},
        "input_pixels": {"value": 16_384, "unit": "pixels"},
        "duration": {"value": 2.0, "unit": "seconds"},
    }
    assert usage_message(usage) == {
        "cpu": pb.UsageMetric(amount=1.25, unit="cpu-seconds"),
        "input_pixels": pb.UsageMetric(count=16_384, unit="pixels"),
        "duration": pb.UsageMetric(amount=2.0, unit="seconds"),
    }


def test_a_metric_without_a_number_is_left_out() -> None:
    usage = {"cpu": {"value": "fast", "unit": "x"}, "ok": {"value": True, "unit": "y"}}
    assert usage_message(usage) == {}


def test_a_log_entry_of_an_error_carries_its_openeo_code() -> None:
    record = {"id": "3", "level": "error", "message": "A label ...", "time": None}
    failed = log_entry({**record, "data": {"code": "LabelNotAvailable"}})
    assert (failed["code"], failed["data"]) == ("LabelNotAvailable", {"code": "LabelNotAvailable"})
    assert "code" not in log_entry(record)
    assert "code" not in log_entry({**record, "data": {"code": 7}})
