"""The pixel meter: what processes produce beyond their arguments, counted while a graph is
evaluated and held against the execution's limits (`eoplex_executor.engine.pixel_meter`)."""

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
import xarray as xr

from eoplex_common.errors import PaymentRequired, ProcessGraphComplexity
from eoplex_executor.engine.cube import DimensionArray, VectorCube
from eoplex_executor.engine.environment import Environment, Limits
from eoplex_executor.engine.pixel_meter import count_read, metered, value_size
from services.executor.tests.cubes import make_cube, make_environment, run_graph, run_process

# make_cube(): 3 dates x 2 bands x 4 x 5 pixels.
CUBE = 3 * 2 * 4 * 5


def node(process_id: str, result: bool = False, **arguments: Any) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments, "result": result}


def limited(tmp_path: Path, **limits: Any) -> Environment:
    env = make_environment(tmp_path)
    env.limits = Limits(**limits)
    return env


def test_value_size_counts_what_each_kind_of_value_holds() -> None:
    cube = make_cube()
    square = shapely.box(0, 0, 1, 1)  # five coordinates
    vectors = VectorCube((square, shapely.Point(0, 0)), "EPSG:32632")

    assert value_size(cube) == CUBE
    assert value_size(DimensionArray(cube.data, "t")) == CUBE
    assert value_size(xr.DataArray(np.zeros((3, 7)))) == 21
    assert value_size(vectors) == 6
    assert value_size([1, 2.5, "a", [cube.data, None]]) == 3 + CUBE
    assert value_size({"type": "Point", "coordinates": [1, 2]}) == 3
    assert value_size(None) == value_size(lambda: 1) == 0


def test_value_size_walks_nesting_deeper_than_the_recursion_limit() -> None:
    nested: list[Any] = [1]
    for _ in range(20_000):
        nested = [nested]
    assert value_size(nested) == 1


def test_a_finer_resampling_counts_the_pixels_it_adds(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    finer = run_process("resample_spatial", env, data=make_cube(), resolution=5)

    assert finer.pixel_count == 4 * CUBE
    assert env.produced.pixels == 3 * CUBE
    assert env.pixel_count == 3 * CUBE  # nothing was read


def test_processes_that_keep_or_shrink_a_cube_produce_nothing(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    graph = {
        "scaled": node("apply", data={"from_parameter": "cube"}, process=_child("absolute")),
        "coarser": node("resample_spatial", data={"from_node": "scaled"}, resolution=20),
        "mean": node(
            "reduce_dimension",
            True,
            data={"from_node": "coarser"},
            dimension="t",
            reducer=_child("mean", data={"from_parameter": "data"}),
        ),
    }
    run_graph(graph, env, cube=make_cube())
    assert env.produced.pixels == 0


def _child(process_id: str, **arguments: Any) -> dict[str, Any]:
    arguments = arguments or {"x": {"from_parameter": "x"}}
    return {"process_graph": {"c": node(process_id, True, **arguments)}}


def test_a_child_process_and_its_parent_count_the_same_growth_once(tmp_path: Path) -> None:
    """apply_dimension's child makes ten times the labels, which become the parent's."""
    env = make_environment(tmp_path)
    repeated = node("array_create", True, data={"from_parameter": "data"}, repeat=10)
    graph = {
        "grow": node(
            "apply_dimension",
            True,
            data={"from_parameter": "cube"},
            dimension="t",
            process={"process_graph": {"c": repeated}},
        )
    }
    grown = run_graph(graph, env, cube=make_cube())
    assert grown.pixel_count == 10 * CUBE
    assert env.produced.pixels == 9 * CUBE


def test_values_held_only_inside_a_child_process_count(tmp_path: Path) -> None:
    """A reducer over ten copies of every pixel's values holds them, though it returns less."""
    env = make_environment(tmp_path)
    reducer = {
        "copies": node("array_create", data={"from_parameter": "data"}, repeat=10),
        "mean": node("mean", True, data={"from_node": "copies"}),
    }
    graph = {
        "mean": node(
            "reduce_dimension",
            True,
            data={"from_parameter": "cube"},
            dimension="t",
            reducer={"process_graph": reducer},
        )
    }
    run_graph(graph, env, cube=make_cube())
    assert env.produced.pixels == 9 * CUBE


def test_merging_counts_the_smaller_cube_added_to_the_larger(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    cube = make_cube()
    other = make_cube(bands=["B11"])
    merged = run_process("merge_cubes", env, cube1=cube, cube2=other)
    assert merged.pixel_count == CUBE + CUBE // 2
    assert env.produced.pixels == CUBE // 2


def test_what_a_process_reads_is_not_counted_again_as_produced(tmp_path: Path) -> None:
    env = make_environment(tmp_path)

    def load(env: Environment) -> Any:
        count_read(env, CUBE)
        return make_cube()

    metered(load, takes_env=True)(env=env)
    assert (env.pixels, env.produced.pixels) == (CUBE, 0)


def test_calls_from_other_threads_while_the_graph_is_computed_are_not_counted(
    tmp_path: Path,
) -> None:
    """dask calls apply_neighborhood's child on every window from its own threads; the
    window tried while the graph was evaluated was counted."""
    env = make_environment(tmp_path)
    grow = metered(lambda: make_cube(), takes_env=False)
    grow(env=env)
    counted = env.produced.pixels

    thread = threading.Thread(target=lambda: grow(env=env))
    thread.start()
    thread.join()

    assert counted == CUBE and env.produced.pixels == counted


def test_a_synchronous_request_beyond_its_quota_is_pointed_to_batch_jobs(
    tmp_path: Path,
) -> None:
    env = limited(tmp_path, max_pixels=2 * CUBE)
    with pytest.raises(ProcessGraphComplexity, match="batch job") as raised:
        run_process("resample_spatial", env, data=make_cube(), resolution=5)
    # Nothing was read: the three quarters of the finer cube it adds are what it counts.
    assert f"would read and produce {3 * CUBE:,} pixels" in raised.value.message
    assert f"the {2 * CUBE:,} allowed for synchronous processing" in raised.value.message


def test_a_batch_job_beyond_its_tenants_limit_is_too_complex(tmp_path: Path) -> None:
    env = limited(tmp_path, max_pixels=2 * CUBE, single_file=False)
    with pytest.raises(ProcessGraphComplexity, match="one batch job of its tenant may"):
        run_process("resample_spatial", env, data=make_cube(), resolution=5)


def test_a_batch_job_beyond_what_its_budget_pays_for_needs_payment(tmp_path: Path) -> None:
    env = limited(tmp_path, paid_pixels=2 * CUBE, single_file=False)
    with pytest.raises(PaymentRequired, match="its budget pays for"):
        run_process("resample_spatial", env, data=make_cube(), resolution=5)


def test_vector_buffer_checks_what_it_may_make_before_buffering(tmp_path: Path) -> None:
    """Buffered points are made at once (not lazily): up to 33 coordinates each, 32 more
    than given, are checked against the limit first."""
    points = [shapely.Point(675000 + 10 * i, 5155000) for i in range(400)]
    env = limited(tmp_path, max_pixels=32 * 300)
    buffered = run_process(
        "vector_buffer", env, geometries=VectorCube(tuple(points[:300]), "EPSG:32632"), distance=1
    )
    assert 0 < env.produced.pixels <= 32 * 300 and len(buffered) == 300
    with pytest.raises(ProcessGraphComplexity):
        run_process(
            "vector_buffer",
            limited(tmp_path, max_pixels=32 * 300),
            geometries=VectorCube(tuple(points), "EPSG:32632"),
            distance=1,
        )


def test_reads_are_held_to_the_same_limits(tmp_path: Path) -> None:
    count_read(limited(tmp_path, max_pixels=CUBE), CUBE)
    with pytest.raises(ProcessGraphComplexity):
        count_read(limited(tmp_path, max_pixels=CUBE), CUBE + 1)
    with pytest.raises(PaymentRequired):
        count_read(limited(tmp_path, paid_pixels=CUBE, single_file=False), CUBE + 1)


def test_a_long_chain_is_counted_without_recursion(tmp_path: Path) -> None:
    """The meter keeps one open count per process call in progress, whatever the length of
    the chain of processes before it."""
    env = make_environment(tmp_path)
    value: Any = make_cube().data
    for _ in range(300):
        value = run_process("absolute", env, x=value)
    assert env.produced.pixels == 0 and env.produced.open_calls == []
