"""The local MongoDB server's users: created once, updated when a password changes, each
allowed its own database only."""

from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.errors import OperationFailure

from eoplex.servers import (
    ensure_mongodb_users,
    free_port,
    mongodb_spec,
    start_process,
    stop_process,
    wait_ready,
)


def can_read(port: int, user: str, password: str, database: str) -> bool:
    url = f"mongodb://{user}:{password}@127.0.0.1:{port}"
    with MongoClient[dict[str, Any]](url, serverSelectionTimeoutMS=10_000) as client:
        try:
            client[database]["things"].find_one()
        except OperationFailure as error:
            assert error.code in (13, 18)  # Unauthorized, AuthenticationFailed
            return False
    return True


def test_users_are_made_once_updated_on_change_and_confined_to_their_database(
    tmp_path: Path,
) -> None:
    storage, log = tmp_path / "mongodb", tmp_path / "users.log"
    assert ensure_mongodb_users(storage_dir=storage, users={"jobs": "one"}, log_path=log)
    assert not ensure_mongodb_users(storage_dir=storage, users={"jobs": "one"}, log_path=log)
    users = {"jobs": "two", "data-discovery": "three"}
    assert ensure_mongodb_users(storage_dir=storage, users=users, log_path=log)

    port = free_port()
    spec = mongodb_spec(port=port, storage_dir=storage, auth=True)
    process = start_process(spec, log_path=log)
    try:
        wait_ready(spec, process)
        assert can_read(port, "jobs", "two", "eoplex_jobs")
        assert not can_read(port, "jobs", "one", "eoplex_jobs")
        assert not can_read(port, "jobs", "two", "eoplex_data_discovery")
        assert can_read(port, "data-discovery", "three", "eoplex_data_discovery")
    finally:
        stop_process(process)
