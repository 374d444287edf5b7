"""The user workspaces in S3: one prefix per user, `<tenant>/<user>/`."""

import asyncio

from minio import Minio

from eoplex_common.s3 import ensure_bucket


def user_prefix(*, tenant_id: str, user_id: str) -> str:
    """The S3 prefix that confines one user's files."""
    return f"{tenant_id}/{user_id}/"


class WorkspaceStore:
    """Reads and writes of user workspaces in one bucket."""

    def __init__(self, *, client: Minio, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    async def ensure_bucket(self) -> None:
        """Create the bucket at start-up if it does not exist."""
        await asyncio.to_thread(ensure_bucket, self.client, self.bucket)

    async def used_bytes(self, *, tenant_id: str, user_id: str) -> int:
        """Total size of the objects under the user's prefix."""
        prefix = user_prefix(tenant_id=tenant_id, user_id=user_id)

        def total() -> int:
            objects = self.client.list_objects(self.bucket, prefix=prefix, recursive=True)
            return sum(item.size or 0 for item in objects)

        return await asyncio.to_thread(total)
