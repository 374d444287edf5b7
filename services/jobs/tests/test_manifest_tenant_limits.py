"""Per-tenant resource maximums of executor Jobs (`OPENEO_JOBS_TENANT_MAX_LIMITS`)."""

import pytest

from eoplex_common.errors import BadRequest
from eoplex_jobs.launcher import LauncherSettings, build_job_manifest


def settings() -> LauncherSettings:
    return LauncherSettings(
        max_limits={"memory": "8Gi", "cpu": "2"},
        tenant_max_limits={"research": {"memory": "64Gi"}},
    )


def job(tenant_id: str, **options: object) -> dict[str, object]:
    return {"_id": "j-1", "user_id": "alice", "tenant_id": tenant_id, "job_options": options}


def resources(manifest: dict[str, object]) -> object:
    return manifest["spec"]["template"]["spec"]["containers"][0]["resources"]  # type: ignore[index]


def test_a_tenant_with_its_own_limits_may_ask_for_more() -> None:
    manifest = build_job_manifest(job("research", memory="32Gi"), settings())
    assert resources(manifest) == {
        "requests": {"memory": "32Gi", "cpu": "1"},
        "limits": {"memory": "32Gi", "cpu": "1"},
    }


def test_a_tenant_keeps_the_default_maximum_of_what_its_limits_do_not_name() -> None:
    with pytest.raises(BadRequest, match="'cpu' asks for 4, more than the maximum 2"):
        build_job_manifest(job("research", cpu=4), settings())


def test_other_tenants_get_the_default_maximum() -> None:
    with pytest.raises(BadRequest, match="'memory' asks for 32Gi, more than the maximum 8Gi"):
        build_job_manifest(job("teaching", memory="32Gi"), settings())


def test_tenant_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENEO_JOBS_TENANT_MAX_LIMITS", '{"research": {"cpu": "16"}}')
    assert LauncherSettings().max_limits_for("research")["cpu"] == "16"
    assert LauncherSettings().max_limits_for("teaching") == LauncherSettings().max_limits
