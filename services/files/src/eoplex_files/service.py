"""The files service's logic, free of transport code."""

from eoplex_common.errors import BadRequest
from eoplex_files.store import WorkspaceStore


class FilesService:
    """The user workspace: `/files` (later) and storage accounting for `GET /me`."""

    def __init__(self, *, store: WorkspaceStore) -> None:
        self.store = store

    async def storage_usage(self, *, tenant_id: str, user_id: str) -> int:
        """Bytes the user occupies. Raises `BadRequest` without a user or tenant."""
        if not tenant_id or not user_id:
            raise BadRequest(reason="user_id and tenant_id are required")
        return await self.store.used_bytes(tenant_id=tenant_id, user_id=user_id)
