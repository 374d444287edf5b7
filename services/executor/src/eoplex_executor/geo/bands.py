"""Band names, openEO common names and wavelengths: the one table every process resolves bands by.

The collections eoplex serves are Sentinel-2 L2A, so band labels are Sentinel-2 band
names (`B04`); openEO also lets users name bands by their STAC `common_name` (`red`)
or by wavelength ranges (`filter_bands`). A collection whose bands are labelled with
the common names themselves (`red`, `nir`) resolves too.
"""

from collections.abc import Sequence

from eoplex_common.errors import ProcessParameterInvalid

# STAC eo `common_name` -> Sentinel-2 band.
COMMON_NAMES: dict[str, str] = {
    "blue": "B02",
    "green": "B03",
    "red": "B04",
    "nir": "B08",
    "nir08": "B8A",
    "swir16": "B11",
    "swir22": "B12",
}

# Sentinel-2 band -> centre wavelength in micrometres (ESA's Sentinel-2 MSI figures).
WAVELENGTHS: dict[str, float] = {
    "B01": 0.443,
    "B02": 0.49,
    "B03": 0.56,
    "B04": 0.665,
    "B05": 0.704,
    "B06": 0.74,
    "B07": 0.783,
    "B08": 0.842,
    "B8A": 0.865,
    "B09": 0.945,
    "B11": 1.61,
    "B12": 2.19,
}


def resolve_band(name: str, available: Sequence[str], *, process: str, parameter: str) -> str:
    """The label in `available` that `name` (a band label or a common name) refers to.

    A band label wins over a common name, as openEO requires. Raises
    ProcessParameterInvalid (of `process`, `parameter`) listing the available bands when
    nothing matches.
    """
    if isinstance(name, str):
        if name in available:
            return name
        band = COMMON_NAMES.get(name)
        if band is not None and band in available:
            return band
    raise ProcessParameterInvalid(
        process=process,
        parameter=parameter,
        reason=f"the cube has no band {name!r}; available bands: {', '.join(available)}",
    )


def band_wavelength(label: str) -> float | None:
    """The centre wavelength (µm) of a band labelled by its name or common name; None if unknown."""
    return WAVELENGTHS.get(COMMON_NAMES.get(label, label))
