"""The whole local stack as a session fixture, for end-to-end tests.

`local_stack` runs what `eoplex run` runs (real servers, every service, the
gateway) on free loopback ports in a temporary state directory, with a known demo
password, and stops it all when the session ends. Registered for everything under
`tests/` by `tests/conftest.py`; use it by naming it:

    def test_something(local_stack: LocalStack) -> None:
        connection = openeo.connect(local_stack.api_url)
        connection.authenticate_basic(local_stack.demo_user, local_stack.demo_password)
"""

import importlib.util
import secrets
from collections.abc import Iterator

import pytest

from eoplex.servers import free_port
from eoplex.stack import SERVICES, LocalStack, StackConfig, service_module


def runnable(package: str) -> bool:
    """Whether `python -m <package>` has something to run."""
    return importlib.util.find_spec(f"{package}.__main__") is not None


needs_full_stack = pytest.mark.skipif(
    not all(runnable(service_module(name)) for name in (*SERVICES, "gateway")),
    reason="a service of the stack has no entry point yet",
)


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """The running stack: `api_url`, `demo_user`, `demo_password`, `log_dir`, `pids`, `kill()`."""
    config = StackConfig(
        port=free_port(),
        state_dir=tmp_path_factory.mktemp("stack"),
        demo_password=secrets.token_urlsafe(12),
    )
    stack = LocalStack(config=config)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()
