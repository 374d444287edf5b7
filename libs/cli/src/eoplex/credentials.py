"""The local stack's internal credentials: who may use NATS, MongoDB and S3.

Generated at the first start into `<state>/credentials.json` (mode 0600) and kept there,
so a restart finds its servers' data readable with the same keys:

- NATS: one user, `eoplex`, for every process of the stack (the services publish and
  consume each other's subjects and JetStream streams);
- MongoDB: one user per service that stores data, allowed `readWrite` on its own
  database (`eoplex_<service>`) only; the capabilities service only pings, which needs
  no login;
- S3: one key per client, allowed only the buckets it uses (`S3_GRANTS`); `admin` is
  the key of `eoplex admin` (collection ingest) and of the demo data.

A server configured by URL (`OPENEO_NATS_URL`, ...) is the operator's: its credentials
are the ones in that URL (or `OPENEO_S3_*`), and none is generated for it.
"""

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from eoplex.private import write_private
from eoplex.servers import S3Credentials, S3Identity

CREDENTIALS_FILE = "credentials.json"
NATS_USER = "eoplex"
# The services with a MongoDB database of their own (`eoplex_common.mongo.service_database`).
MONGODB_USERS = ("auth", "data-discovery", "processes", "jobs")
# SeaweedFS actions of each S3 client: `Admin:<bucket>` is every action on that bucket,
# creating it included. The buckets are the services' defaults (`OPENEO_FILES_BUCKET`,
# ...): a stack configured for other buckets needs an S3 server of its own.
S3_GRANTS: Mapping[str, tuple[str, ...]] = {
    "files": ("Admin:eoplex-user-files",),
    "jobs": ("Admin:eoplex-results",),
    # Writes batch results; reads collection assets through GDAL (`/vsis3/`).
    "executor": ("Admin:eoplex-results", "Read:eoplex-collections", "List:eoplex-collections"),
    # Its health check lists the buckets: it is shown none.
    "capabilities": (),
    "admin": ("Admin:eoplex-collections",),
}


@dataclass(frozen=True)
class StackCredentials:
    """The NATS password, each service's MongoDB password, each client's S3 key."""

    nats_password: str
    mongodb_passwords: Mapping[str, str]
    s3_keys: Mapping[str, S3Credentials]

    def nats_url(self, url: str) -> str:
        """`url` of the stack's NATS server with the stack's login."""
        return with_userinfo(url, NATS_USER, self.nats_password)

    def mongodb_url(self, url: str, client: str) -> str:
        """`url` of the stack's MongoDB server with `client`'s login, if it has one."""
        if client not in self.mongodb_passwords:
            return url
        return with_userinfo(url, client, self.mongodb_passwords[client])

    def s3_identities(self) -> list[S3Identity]:
        """What the S3 server is told: each client's key and grants."""
        return [
            S3Identity(name=client, credentials=self.s3_keys[client], actions=actions)
            for client, actions in S3_GRANTS.items()
        ]

    def to_json(self) -> str:
        """The form kept in `<state>/credentials.json`."""
        document = {
            "nats": {"user": NATS_USER, "password": self.nats_password},
            "mongodb": dict(self.mongodb_passwords),
            "s3": {
                client: {"access_key": keys.access_key, "secret_key": keys.secret_key}
                for client, keys in self.s3_keys.items()
            },
        }
        return json.dumps(document, indent=2)


def with_userinfo(url: str, user: str, password: str) -> str:
    """`url` with `user:password@` before its host (URL-safe names and passwords only)."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}"))


def _password() -> str:
    # URL-safe, so that it goes into a NATS or MongoDB URL as it is.
    return secrets.token_urlsafe(24)


def remembered_credentials(state_dir: Path) -> StackCredentials:
    """The credentials of `<state>/credentials.json`; any that is missing generated and saved."""
    path = state_dir / CREDENTIALS_FILE
    saved = json.loads(path.read_text()) if path.exists() else {}
    mongodb = saved.get("mongodb", {})
    s3 = saved.get("s3", {})
    credentials = StackCredentials(
        nats_password=saved.get("nats", {}).get("password") or _password(),
        mongodb_passwords={user: mongodb.get(user) or _password() for user in MONGODB_USERS},
        s3_keys={
            client: S3Credentials(**s3[client])
            if client in s3
            else S3Credentials(f"eoplex-{client}-{secrets.token_hex(4)}", _password())
            for client in S3_GRANTS
        },
    )
    document = credentials.to_json()
    if not path.exists() or path.read_text() != document:
        write_private(path, document)
    return credentials
