"""save_result: every output format written, reopened with its own reader and compared with
the cube's values; the formats and options equal what /file_formats lists."""

import json
import threading
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import dask.array
import numpy as np
import pyproj
import pytest
import rasterio
import shapely
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import Affine

from eoplex_capabilities import registry
from eoplex_common.errors import FormatUnsuitable, ProcessParameterInvalid
from eoplex_executor.engine.cube import TEMPORAL, RasterCube, VectorCube
from eoplex_executor.engine.environment import Environment, Estimate, Limits, ResultFile
from eoplex_executor.io.raster_formats import GTIFF_DATATYPES
from eoplex_executor.processes.saving import OUTPUT_FORMATS
from services.executor.tests.cubes import (
    CRS,
    NORTH,
    RESOLUTION,
    WEST,
    make_cube,
    make_environment,
    run_graph,
    run_process,
)

GTIFF = "image/tiff; application=geotiff; profile=cloud-optimized"
DATES = ["2022-06-01T00:00:00Z", "2022-06-06T00:00:00Z", "2022-06-11T00:00:00Z"]
TRANSFORM = Affine(RESOLUTION, 0.0, WEST, 0.0, -RESOLUTION, NORTH)


def environment(path: Path, *, single_file: bool = True) -> Environment:
    path.mkdir(parents=True, exist_ok=True)
    env = make_environment(path)
    env.limits = Limits(single_file=single_file)
    return env


def save(env: Environment, data: Any, format: str, **options: Any) -> list[ResultFile]:
    assert run_process("save_result", env, data=data, format=format, options=options) is True
    return env.outputs


BANDS_KEY = "raster:bands"


def without_band_metadata(outputs: list[ResultFile]) -> list[ResultFile]:
    """The result files without their `raster:bands` (which the statistics tests check)."""
    return [
        replace(output, properties={k: v for k, v in output.properties.items() if k != BANDS_KEY})
        for output in outputs
    ]


def values_of(cube: RasterCube) -> np.ndarray:
    return np.asarray(cube.data.values)


def cube_with_nan() -> RasterCube:
    cube = make_cube()
    values = values_of(cube).copy()
    values[0, 1, 2, 3] = np.nan
    return make_cube(values)


def first_date(cube: RasterCube) -> RasterCube:
    return cube.with_data(cube.data.isel(t=0, drop=True))


def invalid(env: Environment, data: Any, format: str, **options: Any) -> ProcessParameterInvalid:
    with pytest.raises(ProcessParameterInvalid) as raised:
        run_process("save_result", env, data=data, format=format, options=options)
    assert env.outputs == []
    return raised.value


def unsuitable(env: Environment, data: Any, format: str) -> FormatUnsuitable:
    """save_result's FormatUnsuitable for data `format` cannot hold, with its message."""
    with pytest.raises(FormatUnsuitable) as raised:
        run_process("save_result", env, data=data, format=format, options={})
    assert env.outputs == []
    assert raised.value.message.startswith(
        "Data can't be transformed into the requested output format. Process 'save_result', "
        "parameter 'format': "
    )
    return raised.value


# ---------------------------------------------------------------- GTiff


def test_gtiff_of_a_synchronous_request_is_one_cog_of_every_date_and_band(
    tmp_path: Path,
) -> None:
    cube = cube_with_nan()
    env = make_environment(tmp_path)
    assert without_band_metadata(save(env, cube, "GTiff")) == [
        ResultFile(tmp_path / "result.tif", GTIFF)
    ]
    with rasterio.open(tmp_path / "result.tif") as tif:
        assert tif.crs == rasterio.CRS.from_string(CRS)
        assert tif.transform == TRANSFORM
        assert tif.dtypes == ("float32",) * 6
        assert np.isnan(tif.nodata)
        np.testing.assert_array_equal(tif.read(), values_of(cube).reshape(6, 4, 5))
        assert tif.read(2, masked=True).mask[2, 3]
        assert tif.descriptions == tuple(f"{d} {b}" for d in DATES for b in ("B04", "B08"))
        assert [tif.tags(band)["datetime"] for band in (1, 2, 3)] == [DATES[0]] * 2 + [DATES[1]]
        assert tif.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert tif.profile["compress"] == "deflate"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["result.tif"]


def test_gtiff_of_a_batch_job_is_one_cog_per_date(tmp_path: Path) -> None:
    cube = make_cube()
    env = environment(tmp_path, single_file=False)
    names = [f"result_{date.replace(':', '-')}.tif" for date in DATES]
    assert without_band_metadata(save(env, cube, "GTiff")) == [
        ResultFile(tmp_path / name, GTIFF, properties={"datetime": date})
        for name, date in zip(names, DATES, strict=True)
    ]
    for index, name in enumerate(names):
        with rasterio.open(tmp_path / name) as tif:
            np.testing.assert_array_equal(tif.read(), values_of(cube)[index])
            assert tif.descriptions == ("B04", "B08")
            assert tif.tags(2)["datetime"] == DATES[index]
            assert tif.transform == TRANSFORM
    assert sorted(path.name for path in tmp_path.iterdir()) == names


def test_gtiff_without_temporal_or_bands_dimension(tmp_path: Path) -> None:
    cube = first_date(make_cube())
    ndvi = cube.with_data(cube.data.isel(bands=1, drop=True))
    save(environment(tmp_path / "bands"), cube, "GTiff")
    save(environment(tmp_path / "ndvi"), ndvi, "GTiff")
    with rasterio.open(tmp_path / "bands" / "result.tif") as tif:
        np.testing.assert_array_equal(tif.read(), values_of(cube))
        assert tif.descriptions == ("B04", "B08")
        assert "datetime" not in tif.tags(1)
    with rasterio.open(tmp_path / "ndvi" / "result.tif") as tif:
        np.testing.assert_array_equal(tif.read(1), values_of(ndvi))
        assert tif.descriptions == (None,)


def test_gtiff_streams_chunks_that_do_not_match_its_tiles_and_computes_each_once(
    tmp_path: Path,
) -> None:
    shape = (3, 2, 600, 700)
    expected = np.random.default_rng(1).random(shape).astype(np.float32)
    computed: list[tuple[int, ...]] = []
    lock = threading.Lock()

    def count(block: np.ndarray, block_info: dict[Any, Any]) -> np.ndarray:
        with lock:
            computed.append(tuple(start for start, _ in block_info[None]["array-location"]))
        return block

    # Blocks spanning every date and band: each is read by all six planes.
    values = dask.array.from_array(expected, chunks=(-1, -1, 250, 300)).map_blocks(
        count, dtype=np.float32
    )
    cube = make_cube(expected, shape=(600, 700))
    cube = cube.with_data(cube.data.copy(data=values))
    env = environment(tmp_path, single_file=False)
    save(env, cube, "gtiff")
    assert len(computed) == len(set(computed)) == 3 * 3
    for index, output in enumerate(env.outputs):
        with rasterio.open(output.path) as tif:
            np.testing.assert_array_equal(tif.read(), expected[index])
            for band in (0, 1):
                assert_statistics(tif.tags(band + 1), expected[index, band], valid_percent=100)


def assert_statistics(tags: dict[str, str], values: np.ndarray, *, valid_percent: float) -> None:
    """The GDAL band statistics in `tags` are those of the finite `values`."""
    finite = values[np.isfinite(values)].astype(np.float64)
    assert float(tags["STATISTICS_MINIMUM"]) == finite.min()
    assert float(tags["STATISTICS_MAXIMUM"]) == finite.max()
    assert float(tags["STATISTICS_MEAN"]) == pytest.approx(finite.mean(), rel=1e-12)
    assert float(tags["STATISTICS_STDDEV"]) == pytest.approx(finite.std(), rel=1e-9)
    assert float(tags["STATISTICS_VALID_PERCENT"]) == pytest.approx(valid_percent)


def test_gtiff_statistics_leave_out_nodata_and_bands_without_values(tmp_path: Path) -> None:
    cube = cube_with_nan()
    empty = values_of(cube).copy()
    empty[1, 0] = np.nan
    cube = cube.with_data(cube.data.copy(data=empty))
    save(environment(tmp_path / "float"), cube, "GTiff")
    save(environment(tmp_path / "int"), cube, "GTiff", datatype="uint8")
    with rasterio.open(tmp_path / "float" / "result.tif") as tif:
        assert_statistics(tif.tags(1), empty[0, 0], valid_percent=100)
        assert_statistics(tif.tags(2), empty[0, 1], valid_percent=95)
        assert "STATISTICS_MEAN" not in tif.tags(3)
    with rasterio.open(tmp_path / "int" / "result.tif") as tif:
        written = tif.read(2, masked=True)
        assert_statistics(tif.tags(2), written.compressed(), valid_percent=95)
        assert "STATISTICS_MEAN" not in tif.tags(3)


def test_gtiff_result_files_describe_their_bands_as_stac_raster_bands(tmp_path: Path) -> None:
    cube = cube_with_nan()
    (floats,) = save(environment(tmp_path / "float"), cube, "GTiff")
    (integers,) = save(environment(tmp_path / "int"), cube, "GTiff", datatype="uint8")

    for output, nodata in ((floats, "nan"), (integers, 255)):
        bands = output.properties["raster:bands"]
        with rasterio.open(output.path) as tif:
            assert len(bands) == tif.count == 6
            for index, band in enumerate(bands, start=1):
                assert band["data_type"] == tif.dtypes[0] and band["nodata"] == nodata
                tags = tif.tags(index)
                assert band["statistics"] == {
                    name: pytest.approx(float(tags[f"STATISTICS_{name.upper()}"]))
                    for name in ("minimum", "maximum", "mean", "stddev", "valid_percent")
                }
    assert floats.properties["raster:bands"][1]["statistics"]["valid_percent"] == 95


def test_gtiff_overviews_unless_switched_off(tmp_path: Path) -> None:
    values = np.arange(1024 * 1024, dtype=np.float32).reshape(1, 1, 1024, 1024)
    cube = make_cube(values, dates=["2022-06-01"], bands=["B04"], shape=(1024, 1024))
    save(environment(tmp_path / "default"), cube, "GTiff")
    save(environment(tmp_path / "none"), cube, "GTiff", overviews=False)
    with rasterio.open(tmp_path / "default" / "result.tif") as tif:
        assert tif.overviews(1) == [2]
        assert tif.block_shapes == [(512, 512)]
        # Averaged: the overview pixel is the mean of its 2x2 source pixels.
        overview = tif.read(1, out_shape=(512, 512))
        assert overview[0, 0] == values[0, 0, :2, :2].mean()
    with rasterio.open(tmp_path / "none" / "result.tif") as tif:
        assert tif.overviews(1) == []
        assert tif.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"


def test_gtiff_of_a_boolean_cube_is_uint8_without_nodata(tmp_path: Path) -> None:
    cube = make_cube()
    mask = cube.with_data(cube.data > 1010)
    save(make_environment(tmp_path), mask, "GTiff")
    with rasterio.open(tmp_path / "result.tif") as tif:
        assert tif.dtypes == ("uint8",) * 6
        assert tif.nodata is None
        expected = (values_of(cube) > 1010).astype(np.uint8).reshape(6, 4, 5)
        np.testing.assert_array_equal(tif.read(), expected)


@pytest.mark.parametrize(
    ("datatype", "expected", "nodata"),
    [
        ("uint8", [254, 0, 12, 12, 255], 255),
        ("int16", [301, -5, 12, 12, -32768], -32768),
        ("float64", [300.7, -5.0, 12.4, 12.5, np.nan], np.nan),
    ],
)
def test_gtiff_datatype_rounds_half_to_even_and_clips_keeping_nodata_apart(
    tmp_path: Path, datatype: str, expected: list[float], nodata: float
) -> None:
    values = np.array([300.7, -5.0, 12.4, 12.5, np.nan], dtype=np.float32).reshape(1, 1, 1, 5)
    cube = make_cube(values, dates=["2022-06-01"], bands=["B04"], shape=(1, 5))
    save(make_environment(tmp_path), cube, "GTiff", datatype=datatype)
    with rasterio.open(tmp_path / "result.tif") as tif:
        assert tif.dtypes == (datatype,)
        np.testing.assert_array_equal(tif.nodata, nodata)
        # float32 values widened, so 300.7 is float32's nearest value.
        np.testing.assert_array_equal(tif.read(1)[0], np.array(expected, dtype=np.float32))


def test_gtiff_refuses_what_it_cannot_hold(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    cube = make_cube()
    extra = cube.with_data(cube.data.expand_dims(z=[1, 2]))
    error = unsuitable(env, extra, "GTiff")
    assert error.params["parameter"] == "format"
    assert "z" in error.message and "netCDF" in error.message
    error = unsuitable(env, [1, 2, 3], "GTiff")
    assert error.params["parameter"] == "format" and "JSON" in error.message
    single_pixel = make_cube(shape=(1, 1))
    assert "single pixel" in unsuitable(env, single_pixel, "GTiff").message


# ---------------------------------------------------------------- netCDF


def test_netcdf_is_cf_with_a_variable_per_band(tmp_path: Path) -> None:
    cube = cube_with_nan()
    env = make_environment(tmp_path)
    assert save(env, cube, "netCDF") == [ResultFile(tmp_path / "result.nc", "application/x-netcdf")]
    with xr.open_dataset(tmp_path / "result.nc") as dataset:
        dataset.load()
    assert set(dataset.data_vars) == {"B04", "B08", "crs"}
    for index, band in enumerate(("B04", "B08")):
        assert dataset[band].dims == ("t", "y", "x")
        np.testing.assert_array_equal(dataset[band].values, values_of(cube)[:, index])
        assert dataset[band].attrs["grid_mapping"] == "crs"
        assert np.isnan(dataset[band].encoding["_FillValue"])
    np.testing.assert_array_equal(dataset["t"].values, cube.data["t"].values)
    assert "since" in dataset["t"].encoding["units"]
    np.testing.assert_array_equal(dataset["x"].values, cube.data["x"].values)
    assert dataset["x"].attrs["standard_name"] == "projection_x_coordinate"
    assert dataset["y"].attrs["standard_name"] == "projection_y_coordinate"
    assert pyproj.CRS(dataset["crs"].attrs["crs_wkt"]) == pyproj.CRS(CRS)
    assert pyproj.CRS(dataset["crs"].attrs["spatial_ref"]) == pyproj.CRS(CRS)
    assert dataset["crs"].attrs["grid_mapping_name"] == "transverse_mercator"
    assert cube.data["x"].attrs == {}, "the saved cube keeps its own coordinates"


def test_netcdf_is_georeferenced_for_gdal(tmp_path: Path) -> None:
    save(make_environment(tmp_path), make_cube(), "NETCDF")
    with rasterio.open(f"netcdf:{tmp_path / 'result.nc'}:B08") as band:
        assert band.crs == rasterio.CRS.from_string(CRS)
        assert band.transform == TRANSFORM
        np.testing.assert_array_equal(band.read(2), values_of(make_cube())[1, 1])


def test_netcdf_of_a_cube_without_bands_has_one_variable(tmp_path: Path) -> None:
    cube = make_cube()
    ndvi = cube.with_data(cube.data.isel(bands=0, drop=True))
    save(make_environment(tmp_path), ndvi, "netcdf")
    with xr.open_dataset(tmp_path / "result.nc") as dataset:
        np.testing.assert_array_equal(dataset["data"].values, values_of(ndvi))


# ---------------------------------------------------------------- JSON


def test_json_of_plain_values(tmp_path: Path) -> None:
    value = {"mean": np.float32(2.5), "counts": np.array([1, 2]), "gaps": [np.nan, None, 1.0]}
    env = make_environment(tmp_path)
    assert save(env, value, "JSON") == [ResultFile(tmp_path / "result.json", "application/json")]
    document = json.loads((tmp_path / "result.json").read_text())
    assert document == {"mean": 2.5, "counts": [1, 2], "gaps": [None, None, 1.0]}


def test_json_of_a_scalar_nan_is_null(tmp_path: Path) -> None:
    save(make_environment(tmp_path), float("nan"), "json")
    assert (tmp_path / "result.json").read_text() == "null"


def test_json_of_a_small_cube(tmp_path: Path) -> None:
    cube = cube_with_nan()
    save(make_environment(tmp_path), cube, "JSON")
    document = json.loads((tmp_path / "result.json").read_text())
    assert document["crs"] == CRS
    assert list(document["dimensions"]) == ["t", "bands", "y", "x"]
    assert document["dimensions"]["t"] == {"type": "temporal", "labels": DATES}
    assert document["dimensions"]["bands"] == {"type": "bands", "labels": ["B04", "B08"]}
    assert document["dimensions"]["x"]["labels"] == [
        675005.0,
        675015.0,
        675025.0,
        675035.0,
        675045.0,
    ]
    assert document["dimensions"]["y"]["type"] == "spatial"
    data = np.array(document["data"], dtype=np.float64)
    np.testing.assert_array_equal(data, values_of(cube))
    assert document["data"][0][1][2][3] is None


def test_json_of_a_bare_data_array(tmp_path: Path) -> None:
    array = xr.DataArray(np.array([[True, False]]), dims=("bands", "other"))
    save(make_environment(tmp_path), array, "JSON")
    assert json.loads((tmp_path / "result.json").read_text()) == {
        "dimensions": {
            "bands": {"type": "bands", "labels": [0]},
            "other": {"type": "other", "labels": [0, 1]},
        },
        "crs": None,
        "data": [[True, False]],
    }


def test_json_refuses_large_cubes(tmp_path: Path) -> None:
    values = dask.array.zeros((1, 1, 1001, 1000), chunks=-1, dtype=np.float32)
    cube = make_cube(shape=(1001, 1000), dates=["2022-06-01"], bands=["B04"])
    cube = cube.with_data(cube.data.copy(data=values))
    error = unsuitable(make_environment(tmp_path), cube, "JSON")
    assert error.params["parameter"] == "format"
    assert "GTiff" in error.message and "netCDF" in error.message


# ---------------------------------------------------------------- PNG


def read_png(path: Path) -> tuple[np.ndarray, float | None]:
    # PNG holds no georeferencing, which rasterio warns about.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as png:
            assert png.driver == "PNG"
            return png.read(), png.nodata


def stretched(values: np.ndarray, low: float, high: float) -> np.ndarray:
    expected = np.rint(1 + np.clip((values - low) / (high - low), 0, 1) * 254)
    expected[:, np.isnan(values).any(axis=0)] = 0
    return expected.astype(np.uint8)


def test_png_of_one_band_is_grayscale_stretched_between_percentiles(tmp_path: Path) -> None:
    cube = first_date(cube_with_nan())
    # Reflectances beyond 0..255, which are no bytes already.
    gray = cube.with_data(cube.data.isel(bands=[1]) * 40)
    env = make_environment(tmp_path)
    assert save(env, gray, "PNG") == [ResultFile(tmp_path / "result.png", "image/png")]
    values = values_of(gray).astype(np.float64)
    low, high = np.nanpercentile(values, [2, 98])
    pixels, nodata = read_png(tmp_path / "result.png")
    assert nodata == 0
    np.testing.assert_array_equal(pixels, stretched(values, low, high))
    assert pixels[0, 2, 3] == 0 and pixels.min() == 0 and pixels.max() == 255
    assert sorted(path.name for path in tmp_path.iterdir()) == ["result.png"]


def test_png_of_three_bands_is_rgb_between_min_and_max(tmp_path: Path) -> None:
    values = np.random.default_rng(2).random((1, 3, 4, 5)).astype(np.float32)
    values[0, 2, 1, 1] = np.nan
    cube = make_cube(values, dates=["2022-06-01"], bands=["B04", "B03", "B02"])
    save(make_environment(tmp_path), cube, "png", min=0.2, max=0.8)
    pixels, _ = read_png(tmp_path / "result.png")
    expected = stretched(values[0].astype(np.float64), 0.2, 0.8)
    np.testing.assert_array_equal(pixels, expected)
    assert list(pixels[:, 1, 1]) == [0, 0, 0], "a pixel missing in one band is transparent"


def test_png_writes_bytes_as_they_are(tmp_path: Path) -> None:
    """Values scaled onto 0..255 (linear_scale_range) or a uint8 cube are not stretched again;
    a missing pixel stays transparent (0) and valid zeros beside it become 1."""
    values = np.array([[0.0, 3.4, 127.5, 200.0, 255.0]] * 4, dtype=np.float32)
    cube = make_cube(values.reshape(1, 1, 4, 5), dates=["2022-06-01"], bands=["B04"])
    save(environment(tmp_path / "whole"), cube, "PNG")
    holes = values.copy()
    holes[2, 2] = np.nan
    save(
        environment(tmp_path / "holes"),
        cube.with_data(cube.data.copy(data=holes[None, None])),
        "PNG",
    )
    save(environment(tmp_path / "uint8"), cube.with_data(cube.data.astype(np.uint8) // 2), "PNG")
    save(environment(tmp_path / "fractions"), cube.with_data(cube.data / 255), "PNG")

    pixels, nodata = read_png(tmp_path / "whole" / "result.png")
    assert nodata is None
    np.testing.assert_array_equal(pixels[0], np.rint(values))
    pixels, nodata = read_png(tmp_path / "holes" / "result.png")
    assert nodata == 0 and pixels[0, 2, 2] == 0
    assert list(pixels[0, 0]) == [1, 3, 128, 200, 255]
    pixels, _ = read_png(tmp_path / "uint8" / "result.png")
    np.testing.assert_array_equal(pixels[0], values.astype(np.uint8) // 2)
    pixels, _ = read_png(tmp_path / "fractions" / "result.png")
    assert list(pixels[0, 0]) == [1, 4, 128, 200, 255], "values within 0..1 are stretched"


def test_png_refuses_what_one_image_cannot_show(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    cube = make_cube()
    error = unsuitable(env, first_date(cube), "PNG")
    assert error.params["parameter"] == "format"
    assert "2" in error.message and "filter_bands" in error.message
    three_dates = cube.with_data(cube.data.isel(bands=[0]))
    assert "reduce" in unsuitable(env, three_dates, "PNG").message
    one_band = first_date(three_dates)
    assert invalid(env, one_band, "PNG", min=5, max=1).params["parameter"] == "options"


# ---------------------------------------------------------------- formats and options


def test_format_names_are_case_insensitive_without_aliases(tmp_path: Path) -> None:
    env = make_environment(tmp_path)
    save(env, 1, "json")
    save(env, 2, "Json")
    assert [output.path.name for output in env.outputs] == ["result.json", "result_2.json"]
    # The openEO API forbids aliases such as GeoTIFF for GTiff.
    for name in ("GeoTIFF", "tiff", "nc", "XYZ"):
        error = invalid(environment(tmp_path / name), make_cube(), name)
        assert error.params["parameter"] == "format"
        assert "supported: GTiff, netCDF, JSON, PNG" in error.message


@pytest.mark.parametrize(
    ("format", "options"),
    [
        ("GTiff", {"compress": "LZW"}),
        ("GTiff", {"overviews": "yes"}),
        ("GTiff", {"datatype": "complex64"}),
        ("netCDF", {"datatype": "float32"}),
        ("PNG", {"min": "low"}),
    ],
)
def test_unknown_options_and_wrong_values_are_refused(
    tmp_path: Path, format: str, options: dict[str, Any]
) -> None:
    error = invalid(make_environment(tmp_path), first_date(make_cube()), format, **options)
    assert error.params["parameter"] == "options"
    assert next(iter(options)) in error.message


def test_save_result_writes_exactly_the_formats_file_formats_lists() -> None:
    listed = registry.OUTPUT_FILE_FORMATS
    assert set(OUTPUT_FORMATS) == set(listed)
    for name, output_format in OUTPUT_FORMATS.items():
        parameters = listed[name]["parameters"]
        assert {option: parameters[option]["default"] for option in parameters} == {
            option: accepted.default for option, accepted in output_format.options.items()
        }, name
    assert listed["GTiff"]["parameters"]["datatype"]["enum"] == [*GTIFF_DATATYPES, None]


@pytest.mark.parametrize("name", list(registry.OUTPUT_FILE_FORMATS))
def test_every_listed_format_accepts_every_listed_option(tmp_path: Path, name: str) -> None:
    parameters = registry.OUTPUT_FILE_FORMATS[name]["parameters"]
    cube = first_date(make_cube())
    image: Any = cube.with_data(cube.data.isel(bands=[0]))
    if "raster" not in registry.OUTPUT_FILE_FORMATS[name]["gis_data_types"]:
        image = VectorCube((shapely.Point(WEST + 5, NORTH - 5),), CRS)
    if name == "JSON":
        # Its option `layout` chooses how a vector cube of a time series is written.
        series = make_cube().data.isel(x=[0], y=0, bands=0, drop=True)
        values = series.rename(x="geometry")
        point = VectorCube((shapely.Point(WEST + 5, NORTH - 5),), CRS)
        image = point.with_values(values.transpose("geometry", ...), {"t": TEMPORAL})
    defaults = {option: schema["default"] for option, schema in parameters.items()}
    assert save(make_environment(tmp_path), image, name, **defaults)
    for option, schema in parameters.items():
        for value in schema.get("enum", []):
            env = environment(tmp_path / f"{option}-{value}")
            assert save(env, image, name, **{option: value})


# ---------------------------------------------------------------- labels of any kind

# Labels that apply_dimension (0..n-1 when the number of values changes) and rename_labels give
# `t` and `bands`: as enumerated, as floats, as dates.
RELABELLED = {
    "int": None,
    "float": [0.5, 1.5, 2.5],
    "date": ["2022-07-01", "2022-08-01", "2022-09"],
}
RASTER_FORMATS = ["GTiff", "netCDF", "JSON", "PNG"]


def node(process_id: str, **arguments: Any) -> dict[str, Any]:
    return {"process_id": process_id, "arguments": arguments}


def param(name: str) -> dict[str, str]:
    return {"from_parameter": name}


def relabelling_graph(dimension: str, kind: str, count: int, format: str) -> dict[str, Any]:
    """apply_dimension giving `count` values per pixel along `dimension` (so its labels become
    0..count-1), rename_labels to the labels of `kind`, save_result as `format`."""
    reducers = ["min", "max", "mean"][:count]
    values = {name: node(name, data=param("data")) for name in reducers}
    values["values"] = node("array_create", data=[{"from_node": name} for name in reducers])
    values["values"]["result"] = True
    graph = {
        "apply": node(
            "apply_dimension",
            data=param("cube"),
            dimension=dimension,
            process={"process_graph": values},
        ),
        "save": node("save_result", data={"from_node": "apply"}, format=format),
    }
    labels = RELABELLED[kind]
    if labels is not None:
        graph["rename"] = node(
            "rename_labels", data={"from_node": "apply"}, dimension=dimension, target=labels[:count]
        )
        graph["save"]["arguments"]["data"] = {"from_node": "rename"}
    graph["save"]["result"] = True
    return graph


def saved_labels(dimension: str, kind: str, count: int) -> list[Any]:
    """The labels as a file holds them: temporal labels that are dates as RFC 3339 instants."""
    if kind == "date" and dimension == "t":
        return ["2022-07-01T00:00:00Z", "2022-08-01T00:00:00Z", "2022-09-01T00:00:00Z"][:count]
    return (RELABELLED[kind] or [0, 1, 2])[:count]


def relabelled_input(dimension: str, format: str) -> tuple[RasterCube, int]:
    """The cube to relabel and the number of labels apply_dimension gives `dimension`: a PNG
    holds one date and 1 or 3 bands."""
    if dimension == "t":
        return make_cube(bands=["B04"] if format == "PNG" else None), 1 if format == "PNG" else 2
    return make_cube(dates=["2022-06-01"] if format == "PNG" else None), 3


@pytest.mark.parametrize("kind", list(RELABELLED))
@pytest.mark.parametrize("dimension", ["t", "bands"])
@pytest.mark.parametrize("format", RASTER_FORMATS)
def test_a_cube_whose_labels_apply_dimension_or_rename_labels_changed_is_saved(
    tmp_path: Path, format: str, dimension: str, kind: str
) -> None:
    """A cube whose t or bands labels became integers (apply_dimension with another number of
    values), floats or dates (rename_labels) is written in every raster format; saving it as
    GTiff was a TypeError (a 500) when the temporal labels were no strings."""
    cube, count = relabelled_input(dimension, format)
    env = make_environment(tmp_path)
    graph = relabelling_graph(dimension, kind, count, format)
    assert run_graph(graph, env, cube=cube) is True
    labels = saved_labels(dimension, kind, count)
    times = labels if dimension == "t" else DATES
    bands = labels if dimension == "bands" else ["B04", "B08"]
    [output] = env.outputs
    if format == "GTiff":
        with rasterio.open(output.path) as tif:
            assert tif.descriptions == tuple(f"{t} {b}" for t in times for b in bands)
            dated = [tif.tags(band).get("datetime") for band in range(1, tif.count + 1)]
        is_date = dimension == "bands" or kind == "date"
        assert dated == [t if is_date else None for t in times for _ in bands]
    elif format == "netCDF":
        with xr.open_dataset(output.path) as dataset:
            assert list(dataset.data_vars) == [*map(str, bands), "crs"]
            assert [label_of(value) for value in dataset["t"].values] == times
    elif format == "JSON":
        document = json.loads(output.path.read_text())
        assert document["dimensions"]["t"]["labels"] == times
        assert document["dimensions"]["bands"]["labels"] == bands
    else:
        pixels, _ = read_png(output.path)
        assert pixels.shape == (len(bands) if dimension == "bands" else 1, 4, 5)


def label_of(value: Any) -> Any:
    """A netCDF coordinate value as a label: dates as RFC 3339 instants."""
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s") + "Z"
    return value.item() if isinstance(value, np.generic) else value


@pytest.mark.parametrize("kind", list(RELABELLED))
def test_a_batch_job_names_its_files_after_temporal_labels_of_any_kind(
    tmp_path: Path, kind: str
) -> None:
    """One GeoTIFF per temporal label, also when the labels are no dates: named after the label,
    with a `datetime` only when it is a date."""
    env = environment(tmp_path, single_file=False)
    assert run_graph(relabelling_graph("t", kind, 2, "GTiff"), env, cube=make_cube()) is True
    labels = saved_labels("t", kind, 2)
    stems = [str(label).replace(":", "-") for label in labels]
    assert [output.path.name for output in env.outputs] == [f"result_{s}.tif" for s in stems]
    expected = [{"datetime": label} if kind == "date" else {} for label in labels]
    assert [output.properties for output in without_band_metadata(env.outputs)] == expected
    for output in env.outputs:
        with rasterio.open(output.path) as tif:
            assert tif.descriptions == ("B04", "B08")


def test_band_labels_that_are_datetimes_are_written_as_instants(tmp_path: Path) -> None:
    cube = make_cube()
    dated = cube.with_data(
        cube.data.assign_coords(bands=np.array(["2022-07-01", "2022-08-01"], "datetime64[ns]"))
    )
    instants = ["2022-07-01T00:00:00Z", "2022-08-01T00:00:00Z"]
    for format in ("GTiff", "netCDF", "JSON"):
        env = environment(tmp_path / format)
        graph = {"save": {**node("save_result", data=param("cube"), format=format), "result": True}}
        assert run_graph(graph, env, cube=dated) is True
        [output] = env.outputs
        if format == "GTiff":
            with rasterio.open(output.path) as tif:
                assert tif.descriptions == tuple(f"{t} {b}" for t in DATES for b in instants)
        elif format == "netCDF":
            with xr.open_dataset(output.path) as dataset:
                assert list(dataset.data_vars) == [*instants, "crs"]
        else:
            assert json.loads(output.path.read_text())["dimensions"]["bands"]["labels"] == instants


def test_temporal_labels_never_lead_a_file_out_of_the_scratch_directory(tmp_path: Path) -> None:
    """Per-date file names are made of the labels, which rename_labels lets a user choose."""
    scratch = tmp_path / "scratch"
    (scratch / "result_x").mkdir(parents=True)
    cube = make_cube()
    labels = np.array(["x/../../escaped", "a\\b:c", "é" * 300])
    env = environment(scratch, single_file=False)
    save(env, cube.with_data(cube.data.assign_coords(t=labels)), "GTiff")
    assert [output.path.parent for output in env.outputs] == [scratch] * 3
    assert [output.path.name for output in env.outputs][:2] == [
        "result_x_.._.._escaped.tif",
        "result_a_b-c.tif",
    ]
    assert len(env.outputs[2].path.name) < 100
    assert sorted(path.name for path in tmp_path.iterdir()) == ["scratch"]


@pytest.mark.parametrize(
    ("labels", "why"),
    [
        (["a/b", "c"], "'a/b'"),
        (["", "c"], "''"),
        ([-1, 1], "'-1'"),
        ([" a", "b"], "' a'"),
        (["a\nb", "c"], "'a\\nb'"),
        (["x" * 300, "c"], "256"),
        (["crs", "c"], "'crs'"),
        (["x", "c"], "'x'"),
        (["t", "c"], "'t'"),
        (np.array([1, "1"], dtype=object), "'1'"),
    ],
)
def test_netcdf_refuses_band_labels_that_cannot_name_a_variable(
    tmp_path: Path, labels: Any, why: str
) -> None:
    """Each band is a netCDF variable named by its label: a label that cannot be a variable
    name, or whose name another variable has, is refused before anything is computed (these
    were a 500, or a band silently lost)."""
    cube = make_cube()
    relabelled = cube.with_data(cube.data.assign_coords(bands=np.asarray(labels)))
    error = unsuitable(make_environment(tmp_path), relabelled, "netCDF")
    assert error.params["parameter"] == "format"
    assert why in error.message and "rename_labels" in error.message


def test_netcdf_writes_labels_of_mixed_types_as_strings(tmp_path: Path) -> None:
    cube = make_cube()
    mixed = cube.with_data(cube.data.assign_coords(t=np.array([1, "a", 2.5], dtype=object)))
    save(make_environment(tmp_path), mixed, "netCDF")
    with xr.open_dataset(tmp_path / "result.nc") as dataset:
        assert list(dataset["t"].values) == ["1", "a", "2.5"]
        assert "standard_name" not in dataset["t"].attrs, "no CF time axis without dates"


@pytest.mark.parametrize("format", ["GTiff", "PNG"])
def test_images_refuse_spatial_labels_that_are_no_numbers(tmp_path: Path, format: str) -> None:
    cube = make_cube(dates=["2022-06-01"], bands=["B04"])
    named = cube.with_data(cube.data.assign_coords(x=["a", "b", "c", "d", "e"]))
    error = unsuitable(make_environment(tmp_path), named, format)
    assert error.params["parameter"] == "format" and "x" in error.message


def test_an_estimate_tallies_relabelled_cubes_and_refuses_what_netcdf_cannot_name(
    tmp_path: Path,
) -> None:
    """A job estimate (save_result counting instead of writing) makes the same checks."""
    cube = make_cube()
    enumerated = cube.with_data(cube.data.assign_coords(t=[0, 1, 2]))
    env = make_environment(tmp_path)
    env.estimate = Estimate()
    save(env, enumerated, "GTiff")
    assert env.estimate == Estimate(pixels_written=120, bytes_written=480, files_written=1)
    slashed = cube.with_data(cube.data.assign_coords(bands=["a/b", "c"]))
    assert "'a/b'" in unsuitable(env, slashed, "netCDF").message
    assert list(tmp_path.iterdir()) == []
