"""URL signing of a provider's assets, at read time (`CollectionAccess.signing`).

Planetary Computer keeps its assets in Azure Blob Storage containers that answer only
URLs carrying a SAS token. Its token endpoint, `GET {signing_url}/sign?href=<href>`,
answers `{"href": <signed href>, "msft:expiry": <RFC 3339>}`. A token is good for every
blob of a container, so the query string of one answer is kept per (scheme, host,
container = first path segment) and reused for the other blobs of that container until
5 minutes before its expiry, then fetched again. Chunk tasks sign their URL when they
read (`eoplex_executor.io.cog.Source.signer`), so a job running longer than a token
renews it. The tokens are kept per process, shared by its threads and executions (they
are the provider's, not a user's): `url_signer` hands out one signer per collection.
"""

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import httpx

from eoplex_common.errors import UpstreamUnavailable
from eoplex_executor.io.cog import url_host

PLANETARY_COMPUTER = "planetary-computer"
PLANETARY_COMPUTER_SAS_URL = "https://planetarycomputer.microsoft.com/api/sas/v1"
# A token is renewed this long before it expires: a read that starts with it must end
# before it does.
RENEW_BEFORE = timedelta(minutes=5)
TIMEOUT_SECONDS = 30.0
# The token endpoint throttles (429) and may fail briefly (5xx): tries, and the longest
# wait between two (its Retry-After, else doubling from 1 s).
ATTEMPTS = 4
MAX_WAIT_SECONDS = 10.0


@dataclass(frozen=True)
class SasToken:
    """The query string that signs a container's URLs, and when it expires."""

    query: str
    expiry: datetime


class PlanetaryComputerSigner:
    """Signs the URLs of a collection's assets with Planetary Computer SAS tokens, kept per
    container (see the module).

    Calling it with an asset URL returns the URL with the container's token;
    UpstreamUnavailable (naming the token endpoint) when no token can be had. Thread-safe:
    one thread fetches a container's token while the others wait for it.
    """

    def __init__(self, collection: str, signing_url: str = PLANETARY_COMPUTER_SAS_URL) -> None:
        self.collection = collection
        self.signing_url = signing_url.rstrip("/")
        # (scheme, host, container) -> its token, and a lock per key.
        self._tokens: dict[tuple[str, str, str], SasToken] = {}
        self._locks: dict[tuple[str, str, str], threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def __call__(self, href: str) -> str:
        parts = urlsplit(href)
        key = (parts.scheme, parts.netloc, parts.path.lstrip("/").split("/", 1)[0])
        with self._locks_lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            token = self._tokens.get(key)
            if token is None or datetime.now(UTC) >= token.expiry - RENEW_BEFORE:
                token = self._tokens[key] = self._fetch(href)
        query = f"{parts.query}&{token.query}" if parts.query else token.query
        return urlunsplit(parts._replace(query=query))

    def _fetch(self, href: str) -> SasToken:
        endpoint = self.signing_url + "/sign"
        answer = self._request(endpoint, href)
        try:
            document = answer.json()
            query = urlsplit(str(document["href"])).query
            expiry = datetime.fromisoformat(str(document["msft:expiry"]))
        except (ValueError, KeyError, TypeError):
            raise self._failure("its answer is not a signed href with msft:expiry") from None
        if not query:
            raise self._failure("its answer holds no token")
        return SasToken(query, expiry if expiry.tzinfo else expiry.replace(tzinfo=UTC))

    def _request(self, endpoint: str, href: str) -> httpx.Response:
        """The token endpoint's 200 answer, retried after 429, 5xx and connection errors."""
        failure = ""
        for attempt in range(ATTEMPTS):
            wait: float | None = None
            try:
                answer = httpx.get(endpoint, params={"href": href}, timeout=TIMEOUT_SECONDS)
            except httpx.HTTPError as error:
                failure = f"{error.__class__.__name__}: {error}"
            else:
                if answer.status_code == 200:
                    return answer
                failure = f"HTTP {answer.status_code}"
                if answer.status_code != 429 and answer.status_code < 500:
                    break
                wait = _seconds(answer.headers.get("retry-after"))
            if attempt + 1 < ATTEMPTS:
                time.sleep(min(wait if wait is not None else 2.0**attempt, MAX_WAIT_SECONDS))
        raise self._failure(f"signing failed: {failure}")

    def _failure(self, reason: str) -> UpstreamUnavailable:
        return UpstreamUnavailable(
            upstream=url_host(self.signing_url), collection=self.collection, reason=reason
        )


def _seconds(retry_after: str | None) -> float | None:
    """The seconds a `Retry-After` header gives (None for none or an HTTP date)."""
    try:
        return max(float(retry_after), 0.0) if retry_after is not None else None
    except ValueError:
        return None


# (collection, signing URL) -> its signer: the tokens of a process, shared by its threads
# and executions (they are the provider's, not a user's).
_signers: dict[tuple[str, str], PlanetaryComputerSigner] = {}
_signers_lock = threading.Lock()


def url_signer(
    signing: str, signing_url: str, *, collection: str
) -> PlanetaryComputerSigner | None:
    """The signer of a collection's asset URLs (`CollectionAccess.signing`), this process's
    one: None for "" (URLs read as they are); UpstreamUnavailable for a kind this executor
    does not know."""
    if not signing:
        return None
    if signing != PLANETARY_COMPUTER:
        raise UpstreamUnavailable(
            upstream=url_host(signing_url) if signing_url else signing,
            collection=collection,
            reason=f"unknown URL signing {signing!r}",
        )
    key = (collection, signing_url or PLANETARY_COMPUTER_SAS_URL)
    with _signers_lock:
        if key not in _signers:
            _signers[key] = PlanetaryComputerSigner(*key)
        return _signers[key]
