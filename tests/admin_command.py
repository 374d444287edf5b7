"""Running `eoplex admin ...` inside a test, for the tests of the operator commands."""

import asyncio

import pytest

from eoplex.admin import run_admin
from eoplex.cli import build_parser


async def admin(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `eoplex admin <argv>` (in a thread: the command runs its own event loop)."""
    args = build_parser().parse_args(["admin", *argv])
    status = await asyncio.to_thread(run_admin, args)
    captured = capsys.readouterr()
    return status, captured.out, captured.err
