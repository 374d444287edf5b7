"""The README's examples, run as a new user runs them against a fresh `make run` stack.

Every ```python block of the README runs, in order, in one namespace and in a scratch
directory, with the official `openeo` client. Only what a reader must replace is
replaced: the stack's URL, the printed demo password, and `https://example.org/...`
(no internet here; a static STAC catalog served on loopback instead). A line whose
comment is a Python literal (`con.capabilities().api_version()  # "1.2.0"`) must
evaluate to it; a list literal must be contained in the value (other collections may
exist).

Every `.venv/bin/eoplex admin ...` line of the ```sh blocks runs with nothing but
`OPENEO_STATE_DIR` set, as the README says the CLI finds the stack by itself; its
example paths (`/data/dem/`, `/data/catalog/collection.json`) point to files written
here that match its patterns.

A block the README marks with `<!-- example needs the internet -->` on the line before
it is left out (registrations of public STAC APIs); `make` lines are not run.
"""

import ast
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

from eoplex.servers import free_port
from eoplex.stack import LocalStack, StackConfig
from tests.stac_catalog import write_catalog
from tests.stac_server import serve

README = Path(__file__).resolve().parent.parent / "README.md"
INTERNET_MARK = "<!-- example needs the internet -->"
FENCE = re.compile(r"^```(\w*)\s*$")


@dataclass(frozen=True)
class Block:
    """A fenced code block of the README: its language, first line number and text."""

    language: str
    line: int
    text: str


def readme_blocks() -> list[Block]:
    """The README's fenced blocks not marked as needing the internet."""
    blocks: list[Block] = []
    lines = README.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        marked = index > 0 and lines[index - 1].strip() == INTERNET_MARK
        if not marked:
            text = "\n".join(lines[index + 1 : end])
            blocks.append(Block(opening.group(1), index + 1, text))
        index = end + 1
    return blocks


def admin_commands(blocks: list[Block]) -> list[list[str]]:
    """The `eoplex admin` command lines of the sh blocks, continuation lines joined."""
    commands = []
    for block in blocks:
        if block.language != "sh":
            continue
        for line in block.text.replace("\\\n", " ").splitlines():
            if line.startswith(".venv/bin/eoplex admin "):
                commands.append(line)
    return [_split(command) for command in commands]


def _split(command: str) -> list[str]:
    return shlex.split(command.split(" #", 1)[0])


def write_dem_folder(folder: Path) -> None:
    """GeoTIFFs the README's ingest example accepts: `<name>_<yyyymmdd>_<band>.tif`."""
    folder.mkdir(parents=True)
    profile = {
        "driver": "GTiff",
        "height": 128,
        "width": 128,
        "count": 1,
        "dtype": "uint16",
        "crs": "EPSG:32632",
        "transform": Affine(30.0, 0.0, 675000.0, 0.0, -30.0, 5155000.0),
        "nodata": 0,
    }
    for day in ("20220601", "20220611"):
        with rasterio.open(folder / f"dem_{day}_B01.tif", "w", **profile) as dataset:
            dataset.write(np.full((1, 128, 128), 500, dtype="uint16"))


@pytest.fixture(scope="module")
def fresh_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    """A stack of its own, as `make run` starts one on a new machine."""
    config = StackConfig(
        port=free_port(),
        state_dir=tmp_path_factory.mktemp("readme-stack"),
        extra_env={"OPENEO_EXECUTOR_STAC_ALLOW_PRIVATE_NETWORKS": "true"},
    )
    stack = LocalStack(config=config)
    try:
        stack.start()
        assert stack.wait_for_demo_data(timeout_seconds=180)
        yield stack
    finally:
        stack.stop()


def check_literal_comments(source: str, namespace: dict[str, Any], where: str) -> None:
    """Lines `expression  # literal`: the expression's value is (or contains) the literal."""
    for number, line in enumerate(source.splitlines(), start=1):
        if "  # " not in line or line.startswith((" ", "#")):
            continue
        code, comment = line.split("  # ", 1)
        try:
            expected = ast.literal_eval(comment.strip())
            ast.parse(code, mode="eval")
        except (ValueError, SyntaxError):
            continue
        value = eval(code, namespace)  # the README's own expression
        if isinstance(expected, list):
            missing = [entry for entry in expected if entry not in value]
            assert not missing, f"{where}+{number}: {code} lacks {missing}"
        else:
            assert value == expected, f"{where}+{number}: {code} is {value!r}"


# A fresh stack, a batch job and every other example: beyond the suite's 120 s when busy.
@pytest.mark.timeout(600)
def test_the_readme_examples_run_as_written(
    fresh_stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocks = readme_blocks()
    stac_folder = tmp_path / "stac"
    write_catalog(stac_folder)
    data = tmp_path / "data"
    write_dem_folder(data / "dem")
    write_catalog(data / "catalog")

    env = {**os.environ, "OPENEO_STATE_DIR": str(fresh_stack.config.state_dir)}
    env = {key: value for key, value in env.items() if not key.endswith("_ADDRESS")}
    for argv in admin_commands(blocks):
        argv = [a.replace("/data/", f"{data}/") for a in argv]
        command = [sys.executable, "-m", "eoplex", *argv[1:]]
        # A password the CLI would prompt for comes as the first line of stdin.
        result = subprocess.run(
            command,
            env=env,
            input="readme-password-1\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, (argv, result.stdout, result.stderr)

    work = tmp_path / "work"
    work.mkdir()
    (work / "fields.geojson").write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},'
        ' "geometry": {"type": "Point", "coordinates": [11.3, 46.48]}}]}'
    )
    monkeypatch.chdir(work)
    root = fresh_stack.api_url.split("/openeo/")[0]
    namespace: dict[str, Any] = {}
    with serve(stac_folder) as stac_url:
        for block in blocks:
            if block.language != "python":
                continue
            source = (
                block.text.replace('"http://127.0.0.1:8000"', repr(root))
                .replace('"<printed password>"', repr(fresh_stack.demo_password))
                .replace("https://example.org/catalog.json", f"{stac_url}catalog.json")
            )
            where = f"README.md:{block.line}"
            exec(compile(source, where, "exec"), namespace)  # the README's code
            check_literal_comments(source, namespace, where)
