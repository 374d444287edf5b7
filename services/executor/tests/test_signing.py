"""Planetary Computer URL signing against the test STAC API server's token endpoint and
its SAS-protected blobs (real HTTP)."""

import threading
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from eoplex_common.errors import UpstreamUnavailable
from eoplex_executor.io.signing import (
    PLANETARY_COMPUTER_SAS_URL,
    PlanetaryComputerSigner,
    url_signer,
)
from tests.stac_api_data import PC_CONTAINER
from tests.stac_api_server import StacApi, stac_api_fixtures

SIGN = "pc/api/sas/v1/sign"


archive, server, api = stac_api_fixtures(
    size=32, dates=["2022-01-10"], bands=["red", "nir"], tile_names=["32"], many=0
)


def _blob(api: StacApi, band: str) -> str:
    return f"{api.url}blob/{PC_CONTAINER}/32/2022-01-10/{band}.tif"


def _signings(api: StacApi) -> int:
    route = api.stats()["by_path"].get(SIGN, {})
    return int(route.get("requests", 0))


def test_a_containers_token_is_fetched_once_and_opens_its_blobs(api: StacApi) -> None:
    sign = PlanetaryComputerSigner("S2", api.sas)

    red, nir = sign(_blob(api, "red")), sign(_blob(api, "nir"))

    assert red.startswith(_blob(api, "red") + "?")
    assert parse_qs(urlsplit(red).query)["sig"] == parse_qs(urlsplit(nir).query)["sig"]
    assert _signings(api) == 1
    assert httpx.head(_blob(api, "red"), timeout=10).status_code == 403
    assert httpx.head(red, timeout=10).status_code == 200
    assert httpx.head(nir, timeout=10).status_code == 200


def test_a_token_is_renewed_five_minutes_before_it_expires(api: StacApi) -> None:
    api.set_sas_ttl(240)
    sign = PlanetaryComputerSigner("S2", api.sas)

    sign(_blob(api, "red"))
    signed = sign(_blob(api, "red"))

    assert _signings(api) == 2
    assert httpx.head(signed, timeout=10).status_code == 200


def test_threads_signing_at_once_share_one_fetch(api: StacApi) -> None:
    api.set_latency(200)
    sign = PlanetaryComputerSigner("S2", api.sas)
    signed: list[str] = []

    def read(band: str) -> None:
        signed.append(sign(_blob(api, band)))

    threads = [threading.Thread(target=read, args=(band,)) for band in ["red", "nir"] * 4]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert _signings(api) == 1
    assert len({parse_qs(urlsplit(url).query)["sig"][0] for url in signed}) == 1


def test_throttling_and_server_errors_are_retried(api: StacApi) -> None:
    api.fail(f"^/{SIGN}$", 429, count=1, retry_after=0)
    api.fail(f"^/{SIGN}$", 503, count=1, retry_after=0)

    signed = PlanetaryComputerSigner("S2", api.sas)(_blob(api, "red"))

    assert httpx.head(signed, timeout=10).status_code == 200
    assert _signings(api) == 3


@pytest.mark.parametrize(
    ("status", "requests"),
    [
        (403, 1),
        # 503 every time: four tries.
        (503, 4),
    ],
)
def test_a_failing_token_endpoint_is_the_providers_error(
    api: StacApi, status: int, requests: int
) -> None:
    api.fail(f"^/{SIGN}$", status, retry_after=0)

    with pytest.raises(UpstreamUnavailable) as raised:
        PlanetaryComputerSigner("S2", api.sas)(_blob(api, "red"))

    assert raised.value.params == {
        "upstream": api.url.removeprefix("http://").rstrip("/"),
        "collection": "S2",
        "reason": f"signing failed: HTTP {status}",
    }
    assert _signings(api) == requests


def test_each_collection_has_one_signer_per_process() -> None:
    assert url_signer("", "", collection="S2") is None
    signer = url_signer("planetary-computer", "", collection="S2")
    assert signer is url_signer("planetary-computer", PLANETARY_COMPUTER_SAS_URL, collection="S2")
    assert signer is not None and signer.signing_url == PLANETARY_COMPUTER_SAS_URL
    assert signer is not url_signer("planetary-computer", "", collection="S2_OTHER")
    with pytest.raises(UpstreamUnavailable, match="unknown URL signing 'sentinel-hub'"):
        url_signer("sentinel-hub", "https://sh.example", collection="S2")
