"""The one error of ingest: what is wrong, and with which file, found before anything is staged."""

from pathlib import Path


class IngestError(Exception):
    """Input that cannot be registered (unreadable file, mixed CRSs in a band, missing date, ...).

    Raised while reading and planning (before any upload) or while uploading, always
    before anything is staged, so a failed ingest leaves the catalog as it was.
    """

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        self.path = str(path) if path is not None else None
        super().__init__(f"{path}: {message}" if path is not None else message)
