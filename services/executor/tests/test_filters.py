"""Filters and mask_polygon on small cubes: expected pixels and labels computed independently."""

from collections.abc import Callable
from typing import Any

import dask.array
import numpy as np
import pytest

from eoplex_common.errors import (
    BandFilterParameterMissing,
    DimensionMissing,
    DimensionNotAvailable,
    OpenEOError,
    ProcessParameterInvalid,
)
from eoplex_executor.engine.cube import RasterCube
from eoplex_executor.engine.environment import Environment
from eoplex_executor.engine.registry import implementations
from eoplex_executor.geo.bands import resolve_band
from eoplex_executor.geo.geometry import bbox_in_crs, geometries_from_geojson
from services.executor.tests.cubes import (
    CRS,
    NORTH,
    RESOLUTION,
    TO_WGS84,
    WEST,
    centres,
    child_graph,
    graph_on_cube,
    make_cube,
    pixels_inside,
    run_graph,
    run_process,
    wgs84_polygon,
)

# A pentagon in the cube's CRS whose edges pass between pixel centres of a 6 x 8 cube.
INVALID = ProcessParameterInvalid.code
PENTAGON_UTM = [(675012, 5154998), (675058, 5154993), (675071, 5154951), (675033, 5154942)]


def assert_lazy(cube: RasterCube) -> None:
    assert isinstance(cube.data.data, dask.array.Array)


# filter_bbox


def test_filter_bbox_in_cube_crs_keeps_pixel_centres_inside(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    extent = {"west": 675012, "east": 675045, "south": 5154955, "north": 5154985, "crs": 32632}

    result = run_process("filter_bbox", env, data=cube, extent=extent)

    x, y = centres(cube)
    keep = (x >= 675012) & (x <= 675045) & (y >= 5154955) & (y <= 5154985)
    rows, cols = keep.any(axis=1), keep.any(axis=0)
    assert_lazy(result)
    np.testing.assert_array_equal(result.data.values, cube.data.values[:, :, rows][..., cols])
    assert result.data.coords["x"].values.tolist() == [675015, 675025, 675035, 675045]
    assert result.data.coords["y"].values.tolist() == [5154985, 5154975, 5154965, 5154955]
    assert result.crs == cube.crs and result.dimension_types == cube.dimension_types


def test_filter_bbox_in_wgs84_is_reprojected_to_the_cube_crs(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    # The geographic box around UTM points (675022, 5154948) .. (675058, 5154982).
    (west, east), (south, north) = TO_WGS84.transform([675022, 675058], [5154948, 5154982])
    extent = {"west": west, "east": east, "south": south, "north": north}

    result = run_process("filter_bbox", env, data=cube, extent=extent)

    # The box's edges, transformed back, bend by well under a metre over 40 m, so the
    # centres kept are those within the UTM rectangle.
    assert result.data.coords["x"].values.tolist() == [675025, 675035, 675045, 675055]
    assert result.data.coords["y"].values.tolist() == [5154975, 5154965, 5154955]


def test_filter_bbox_centre_on_the_edge_is_kept(env: Environment) -> None:
    extent = {"west": 675015, "east": 675015, "south": 5154985, "north": 5154985, "crs": 32632}

    result = run_process("filter_bbox", env, data=make_cube(), extent=extent)

    assert result.data.values[0, 0].tolist() == [[11.0]]  # row 1, column 1


@pytest.mark.parametrize(
    "extent",
    [
        {"west": 0, "east": 1, "south": 0, "north": 1},
        {"west": 675100, "east": 675200, "south": 5154900, "north": 5155000, "crs": 32632},
        {"west": 675030, "east": 675010, "south": 5154900, "north": 5155000, "crs": 32632},
        {"west": 675000, "east": 675040, "south": 5154900, "crs": 32632},
        {"west": "a", "east": 675040, "south": 5154900, "north": 5155000, "crs": 32632},
        {"west": 675000, "east": 675040, "south": 5154900, "north": 5155000, "crs": 1},
        {"west": 675000, "east": 675040, "south": 5154900, "north": 5155000, "crs": "nonsense"},
    ],
)
def test_filter_bbox_refuses_invalid_or_empty_extents(
    env: Environment, extent: dict[str, Any]
) -> None:
    with pytest.raises(ProcessParameterInvalid, match="'extent'"):
        run_process("filter_bbox", env, data=make_cube(), extent=extent)


def test_bbox_in_crs_densifies_edges() -> None:
    # The north edge of a box in UTM bulges north in lat/lon between its corners.
    extent = {"west": 500000 - 300000, "east": 500000 + 300000, "south": 5000000}
    extent |= {"north": 5100000, "crs": 32632}
    corners = TO_WGS84.transform([200000, 800000], [5100000, 5100000])

    _, _, _, north = bbox_in_crs(extent, "EPSG:4326", process="p", parameter="extent")

    assert north > max(corners[1]) + 0.01


# filter_temporal


@pytest.mark.parametrize(
    ("extent", "expected"),
    [
        (["2022-06-01", "2022-06-11"], ["2022-06-01", "2022-06-06"]),
        (["2022-06-01T00:00:01Z", None], ["2022-06-06", "2022-06-11"]),
        ([None, "2022-06-06T00:00:00.001Z"], ["2022-06-01", "2022-06-06"]),
        (["2022-06-06T02:00:00+02:00", "2022-06-06T00:00:01Z"], ["2022-06-06"]),
    ],
)
def test_filter_temporal_is_half_open(
    env: Environment, extent: list[str | None], expected: list[str]
) -> None:
    cube = make_cube()

    result = run_process("filter_temporal", env, data=cube, extent=extent)

    assert_lazy(result)
    assert result.labels("t") == [f"{date}T00:00:00Z" for date in expected]
    keep = np.isin(cube.data.coords["t"].values, np.array(expected, dtype="datetime64[ns]"))
    np.testing.assert_array_equal(result.data.values, cube.data.values[keep])


def test_filter_temporal_on_a_named_dimension(env: Environment) -> None:
    result = run_process(
        "filter_temporal", env, data=make_cube(), extent=["2022-06-05", None], dimension="t"
    )

    assert result.labels("t") == ["2022-06-06T00:00:00Z", "2022-06-11T00:00:00Z"]


@pytest.mark.parametrize(
    ("arguments", "code", "message"),
    [
        ({"extent": ["2023-01-01", None]}, INVALID, "no label of dimension 't'"),
        ({"extent": ["2022-06-06", "2022-06-06"]}, "TemporalExtentEmpty", "not later than"),
        ({"extent": ["2022-06-07", "2022-06-06"]}, "TemporalExtentEmpty", "not later than"),
        ({"extent": [None, None]}, INVALID, "both be null"),
        ({"extent": ["2022-06-01"]}, INVALID, r"\[start, end\]"),
        ({"extent": ["June", None]}, INVALID, "invalid date"),
        (
            {"extent": ["2022-06-01", None], "dimension": "time"},
            "DimensionNotAvailable",
            "temporal dimensions: \\['t'\\]",
        ),
        (
            {"extent": ["2022-06-01", None], "dimension": "bands"},
            "DimensionNotAvailable",
            "no temporal dimension",
        ),
    ],
)
def test_filter_temporal_errors(
    env: Environment, arguments: dict[str, Any], code: str, message: str
) -> None:
    with pytest.raises(OpenEOError, match=message) as raised:
        run_process("filter_temporal", env, data=make_cube(), **arguments)
    assert raised.value.code == code


# filter_bands

S2_BANDS = ["B02", "B03", "B04", "B05", "B08", "B8A", "B11", "B12"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"bands": ["B08", "B04"]}, ["B08", "B04"]),
        ({"bands": ["nir", "red", "swir16"]}, ["B08", "B04", "B11"]),
        ({"bands": ["nir08", "B8A"]}, ["B8A"]),
        ({"wavelengths": [[0.8, 0.9]]}, ["B08", "B8A"]),
        ({"wavelengths": [[1.5, 2.5], [0.48, 0.5]]}, ["B11", "B12", "B02"]),
        ({"bands": ["B05"], "wavelengths": [[0.5, 0.7]]}, ["B05", "B03", "B04"]),
    ],
)
def test_filter_bands_by_name_common_name_and_wavelength(
    env: Environment, arguments: dict[str, Any], expected: list[str]
) -> None:
    cube = make_cube(bands=S2_BANDS)

    result = run_process("filter_bands", env, data=cube, **arguments)

    assert_lazy(result)
    assert result.labels("bands") == expected
    indices = [S2_BANDS.index(band) for band in expected]
    np.testing.assert_array_equal(result.data.values, cube.data.values[:, indices])


def test_filter_bands_on_bands_labelled_by_common_name(env: Environment) -> None:
    cube = make_cube(bands=["red", "nir"])

    by_name = run_process("filter_bands", env, data=cube, bands=["nir"])
    by_wavelength = run_process("filter_bands", env, data=cube, wavelengths=[[0.6, 0.7]])

    assert by_name.labels("bands") == ["nir"]
    assert by_wavelength.labels("bands") == ["red"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"bands": ["B03"]}, "no band 'B03'; available bands: B04, B08"),
        ({"bands": ["blue"]}, "no band 'blue'"),
        ({"wavelengths": [[0.4, 0.5]]}, "no band of the cube lies in 0.4-0.5"),
        ({"wavelengths": [[0.7, 0.6]]}, r"expected \[min, max\]"),
        ({"wavelengths": [[0.6]]}, r"expected \[min, max\]"),
    ],
)
def test_filter_bands_errors(env: Environment, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(ProcessParameterInvalid, match=message):
        run_process("filter_bands", env, data=make_cube(), **arguments)


def test_filter_bands_needs_criteria(env: Environment) -> None:
    with pytest.raises(BandFilterParameterMissing, match="give bands or wavelengths"):
        run_process("filter_bands", env, data=make_cube())


@pytest.mark.parametrize(
    ("process_id", "dropped", "arguments", "missing"),
    [
        ("filter_temporal", "t", {"extent": ["2022-06-01", None]}, DimensionNotAvailable),
        ("filter_bands", "bands", {"bands": ["B04"]}, DimensionMissing),
    ],
)
def test_filters_need_the_dimension_they_filter(
    env: Environment,
    process_id: str,
    dropped: str,
    arguments: dict[str, Any],
    missing: type[OpenEOError],
) -> None:
    cube = make_cube()
    without = cube.with_data(cube.data.isel({dropped: 0}, drop=True))

    with pytest.raises(missing, match="the cube has no"):
        run_process(process_id, env, data=without, **arguments)


def test_resolve_band_prefers_the_band_name_over_the_common_name() -> None:
    # A band literally called "red" wins over the common name's B04.
    assert resolve_band("red", ["B04", "red"], process="p", parameter="bands") == "red"
    assert resolve_band("red", ["B04", "B08"], process="p", parameter="bands") == "B04"


# filter_spatial and mask_polygon


def test_filter_spatial_crops_to_the_polygon_and_masks_outside(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    inside = pixels_inside(cube, PENTAGON_UTM)
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    window = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))

    result = run_process("filter_spatial", env, data=cube, geometries=wgs84_polygon(PENTAGON_UTM))

    assert_lazy(result)
    expected = np.where(inside[window], cube.data.values[:, :, window[0], window[1]], np.nan)
    assert 4 < inside.sum() < inside[window].size  # the test polygon is not a rectangle
    np.testing.assert_array_equal(result.data.values, expected)
    np.testing.assert_array_equal(
        result.data.coords["x"].values, cube.data.coords["x"].values[window[1]]
    )


def test_filter_spatial_on_a_point_keeps_the_pixel_holding_it(env: Environment) -> None:
    lon, lat = TO_WGS84.transform(675033.0, 5154978.0)  # in pixel row 2, column 3
    geometries = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {}, "geometry": {
            "type": "Point", "coordinates": [lon, lat]}}],
    }  # fmt: skip

    result = run_process("filter_spatial", env, data=make_cube(), geometries=geometries)

    assert result.data.values[:, :, 0, 0].tolist() == [[23, 123], [1023, 1123], [2023, 2123]]


def test_mask_polygon_replaces_pixels_outside(env: Environment) -> None:
    cube = make_cube(shape=(6, 8))
    inside = pixels_inside(cube, PENTAGON_UTM)

    result = run_process("mask_polygon", env, data=cube, mask=wgs84_polygon(PENTAGON_UTM))

    assert_lazy(result)
    np.testing.assert_array_equal(result.data.values, np.where(inside, cube.data.values, np.nan))
    assert result.data.shape == cube.data.shape


def test_mask_polygon_inside_with_replacement_leaves_nodata_untouched(env: Environment) -> None:
    values = make_cube(shape=(6, 8)).data.values.copy()
    values[0, 0, 2, 3] = values[0, 0, 0, 0] = np.nan
    cube = make_cube(values, shape=(6, 8))
    inside = pixels_inside(cube, PENTAGON_UTM)
    assert inside[2, 3] and not inside[0, 0]
    feature = {"type": "Feature", "geometry": wgs84_polygon(PENTAGON_UTM), "properties": None}

    result = run_process("mask_polygon", env, data=cube, mask=feature, replacement=-5, inside=True)

    expected = np.where(inside & ~np.isnan(values), -5.0, values)
    np.testing.assert_array_equal(result.data.values, expected)
    assert result.data.dtype == np.float32


def test_mask_polygon_refuses_non_polygons_and_strings(env: Environment) -> None:
    point = {"type": "Point", "coordinates": [11.28, 46.52]}
    with pytest.raises(ProcessParameterInvalid, match="only Polygons"):
        run_process("mask_polygon", env, data=make_cube(), mask=point)
    with pytest.raises(ProcessParameterInvalid, match="'replacement'"):
        polygon = wgs84_polygon(PENTAGON_UTM)
        run_process("mask_polygon", env, data=make_cube(), mask=polygon, replacement="x")


def test_filter_spatial_outside_the_cube_is_an_error(env: Environment) -> None:
    far = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}
    with pytest.raises(ProcessParameterInvalid, match="cover no pixel"):
        run_process("filter_spatial", env, data=make_cube(), geometries=far)


@pytest.mark.parametrize(
    ("geojson", "message"),
    [
        ([1, 2], "expected a GeoJSON object"),
        ({"type": "Circle", "coordinates": [0, 0]}, "type 'Circle'"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0]]]}, "invalid GeoJSON Polygon"),
        ({"type": "Point"}, "invalid GeoJSON Point"),
        ({"type": "Point", "coordinates": ["a", "b"]}, "invalid GeoJSON Point"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "Self-intersection",
        ),
        ({"type": "FeatureCollection", "features": [{"type": "Point"}]}, "only Features"),
        ({"type": "FeatureCollection", "features": []}, "no non-empty geometry"),
        ({"type": "Feature", "geometry": None, "properties": {}}, "no non-empty geometry"),
        (
            {
                "type": "Point",
                "coordinates": [675000, 5155000],
                "crs": {"type": "name", "properties": {"name": "EPSG:32632"}},
            },
            "WGS 84",
        ),
    ],
)
def test_invalid_geojson_is_refused(geojson: Any, message: str) -> None:
    with pytest.raises(ProcessParameterInvalid, match=message):
        geometries_from_geojson(geojson, process="filter_spatial", parameter="geometries")


def test_geojson_collections_and_the_wgs84_legacy_crs_are_read() -> None:
    point = {"type": "Point", "coordinates": [1, 2]}
    empty = {"type": "MultiPolygon", "coordinates": []}
    geojson = {
        "type": "GeometryCollection",
        "geometries": [point, empty, {"type": "GeometryCollection", "geometries": [point]}],
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
    }

    geometries = geometries_from_geojson(geojson, process="p", parameter="geometries")

    assert [geometry.wkt for geometry in geometries] == ["POINT (1 2)", "POINT (1 2)"]


# filter_labels


def test_filter_labels_with_a_python_condition_sees_rfc3339_labels(env: Environment) -> None:
    seen: list[Any] = []

    def after(value: Any, context: Any) -> bool:
        seen.append(value)
        return bool(value > context)

    result = run_process(
        "filter_labels", env, data=make_cube(), condition=after, dimension="t",
        context="2022-06-05",
    )  # fmt: skip

    assert seen == ["2022-06-01T00:00:00Z", "2022-06-06T00:00:00Z", "2022-06-11T00:00:00Z"]
    assert result.labels("t") == ["2022-06-06T00:00:00Z", "2022-06-11T00:00:00Z"]
    np.testing.assert_array_equal(result.data.values, make_cube().data.values[1:])


@pytest.mark.parametrize("answer", [None, 1, "true"])
def test_filter_labels_keeps_only_labels_whose_condition_is_true(
    env: Environment, answer: Any
) -> None:
    def condition(value: Any, context: Any) -> Any:
        return True if value == "B08" else answer

    result = run_process(
        "filter_labels", env, data=make_cube(), condition=condition, dimension="bands"
    )

    assert result.labels("bands") == ["B08"]


@pytest.mark.parametrize(
    ("dimension", "condition", "code", "message"),
    [
        (
            "time",
            lambda value, context: True,
            "DimensionNotAvailable",
            "no dimension 'time'; its dimensions are t, bands, y, x",
        ),
        ("bands", lambda value, context: False, INVALID, "no label of 'bands'"),
    ],
)
def test_filter_labels_errors(
    env: Environment, dimension: str, condition: Callable[..., Any], code: str, message: str
) -> None:
    with pytest.raises(OpenEOError, match=message) as raised:
        run_process(
            "filter_labels", env, data=make_cube(), condition=condition, dimension=dimension
        )
    assert raised.value.code == code


def test_filter_labels_with_a_child_process_graph(env: Environment) -> None:
    # `eq` is written concurrently in arithmetic.py; the Python-callable tests cover the rest.
    if "eq" not in implementations():
        pytest.skip("eq is not implemented yet")
    condition = child_graph("eq", x={"from_parameter": "value"}, y={"from_parameter": "context"})
    graph = graph_on_cube("filter_labels", condition=condition, dimension="bands", context="B08")

    result = run_graph(graph, env, cube=make_cube())

    assert result.labels("bands") == ["B08"]
    np.testing.assert_array_equal(result.data.values, make_cube().data.values[:, 1:])


def test_filters_refuse_a_non_cube(env: Environment) -> None:
    with pytest.raises(ProcessParameterInvalid, match="expected a raster data cube"):
        run_process("filter_bands", env, data=[1, 2], bands=["B04"])


def test_cube_geometry_constants() -> None:
    # The expectations above assume make_cube's grid; fail loudly if it changes.
    assert (WEST, NORTH, RESOLUTION, CRS) == (675000.0, 5155000.0, 10.0, "EPSG:32632")
