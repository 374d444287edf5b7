"""Signed links to a finished job's results, which the gateway serves to whoever holds one
until it expires: the results Item (its `canonical` link) and the bytes of each asset.

A link names the job, what it opens (the Item, or one asset by name) and when it expires,
with an HMAC-SHA256 of the three. Only the jobs service signs and checks links, so its key
never leaves it; the key derives from the S3 secret key, which every jobs replica has and
which already guards the presigned S3 URLs: rotating it ends both kinds of link alike.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlencode

from eoplex_common.errors import PermissionsInsufficient, ResultLinkExpired

# Separates the key of these links from any other use of the S3 secret key.
KEY_PURPOSE = b"eoplex job result links v1"


@dataclass(frozen=True, kw_only=True)
class StoredResult:
    """What storage tells of a result file."""

    size: int
    modified: datetime


@dataclass(frozen=True, kw_only=True)
class ResultLink:
    """One signed link: `asset` is the asset's name, empty for the results Item."""

    job_id: str
    asset: str
    expires: int
    signature: str


class ResultLinks:
    """Signs and checks the links below `GET /jobs/{job_id}/results/signed`."""

    def __init__(self, *, secret: str) -> None:
        self.key = hmac.new(secret.encode(), KEY_PURPOSE, hashlib.sha256).digest()

    def _signature(self, job_id: str, asset: str, expires: int) -> str:
        message = json.dumps([job_id, asset, expires]).encode()
        return hmac.new(self.key, message, hashlib.sha256).hexdigest()

    def sign(self, job_id: str, *, asset: str, expires: datetime) -> ResultLink:
        """A link to the asset named `asset` (or the Item, for "") valid until `expires`."""
        seconds = int(expires.timestamp())
        signature = self._signature(job_id, asset, seconds)
        return ResultLink(job_id=job_id, asset=asset, expires=seconds, signature=signature)

    def check(self, link: ResultLink, *, now: datetime | None = None) -> None:
        """Raises PermissionsInsufficient unless this service signed `link` as it is (a
        changed job, asset or expiry), ResultLinkExpired once it has expired."""
        expected = self._signature(link.job_id, link.asset, link.expires)
        if not hmac.compare_digest(expected, link.signature):
            raise PermissionsInsufficient(
                "The link to the batch job results is invalid: its signature does not match "
                "it. Request the results again (GET /jobs/{job_id}/results) for valid links."
            )
        if (now or datetime.now(UTC)).timestamp() >= link.expires:
            raise ResultLinkExpired()


def link_url(api_url: str, link: ResultLink) -> str:
    """`<api>/jobs/<id>/results/signed[/<asset>]?expires=...&signature=...`."""
    path = f"{api_url}jobs/{quote(link.job_id, safe='')}/results/signed"
    if link.asset:
        path += f"/{quote(link.asset, safe='')}"
    return f"{path}?{urlencode({'expires': link.expires, 'signature': link.signature})}"
