"""The storage quota while uploads are under way.

A file counts against its owner's quota once S3 holds it; an upload in progress counts
with what it announced or, without an announced size, with what has arrived. Each
upload checks its growth against the quota minus the user's stored files (other than
the one it replaces) minus the other uploads of the user in progress, so two
simultaneous uploads cannot both fill the same free space. When an upload completes
(or a file is deleted), the stored bytes change: the ledger's generation of that
workspace moves on, and the uploads still in progress read the stored bytes again.

The ledger is this process's: uploads of one user through two replicas of the files
service can together exceed the quota by what is in flight on the other replica.
"""

from dataclasses import dataclass, field
from itertools import count

from eoplex_common.errors import StorageQuotaExceeded
from eoplex_files.store import Workspace, WorkspaceStore

_ids = count(1)


@dataclass(eq=False)
class Reservation:
    """The bytes one upload in progress holds of its owner's quota."""

    workspace: Workspace
    path: str
    bytes: int
    id: int = field(default_factory=lambda: next(_ids))


class QuotaLedger:
    """The uploads in progress of this process, per workspace (event loop only)."""

    def __init__(self) -> None:
        self._uploads: dict[Workspace, dict[int, Reservation]] = {}
        self._generations: dict[Workspace, int] = {}

    def reserve(self, workspace: Workspace, path: str, size: int) -> Reservation:
        """Hold `size` bytes for an upload of `path` until `release`."""
        reservation = Reservation(workspace, path, size)
        self._uploads.setdefault(workspace, {})[reservation.id] = reservation
        return reservation

    def release(self, reservation: Reservation, *, stored: bool) -> None:
        """The upload has ended; `stored`: S3 holds its file now."""
        uploads = self._uploads.get(reservation.workspace, {})
        uploads.pop(reservation.id, None)
        if not uploads:
            self._uploads.pop(reservation.workspace, None)
        if stored:
            self.stored_bytes_changed(reservation.workspace)

    def stored_bytes_changed(self, workspace: Workspace) -> None:
        """A file of `workspace` was stored or deleted."""
        self._generations[workspace] = self.generation(workspace) + 1

    def generation(self, workspace: Workspace) -> int:
        """Moves on whenever the stored bytes of `workspace` change."""
        return self._generations.get(workspace, 0)

    def held_by_others(self, reservation: Reservation) -> int:
        """Bytes the owner's other uploads in progress hold."""
        uploads = self._uploads.get(reservation.workspace, {})
        return sum(other.bytes for other in uploads.values() if other is not reservation)


class QuotaCheck:
    """The quota of one upload: `check(size)` raises StorageQuotaExceeded when the file
    would not fit, reading the stored bytes again after they changed."""

    def __init__(
        self, *, ledger: QuotaLedger, store: WorkspaceStore, reservation: Reservation, quota: int
    ) -> None:
        self.ledger = ledger
        self.store = store
        self.reservation = reservation
        self.quota = quota
        self._generation = -1
        self._stored_elsewhere = 0

    async def check(self, size: int) -> None:
        """Hold `size` bytes (never fewer than held already) if they fit."""
        self.reservation.bytes = max(self.reservation.bytes, size)
        workspace = self.reservation.workspace
        while self._generation != self.ledger.generation(workspace):
            self._generation = self.ledger.generation(workspace)
            used = await self.store.used_bytes(workspace)
            replaced = await self.store.stat(workspace, self.reservation.path)
            # The file this upload replaces is freed by it.
            self._stored_elsewhere = used - (replaced.size if replaced else 0)
        held = self.ledger.held_by_others(self.reservation)
        if self._stored_elsewhere + held + size > self.quota:
            raise StorageQuotaExceeded()
