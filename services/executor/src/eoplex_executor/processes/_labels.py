"""Dimension labels that several processes read or build."""

from collections.abc import Sequence
from typing import Any

import numpy as np

from eoplex_executor.engine.cube import DimensionArray, parse_datetime


def label_array(labels: Sequence[Any]) -> np.ndarray:
    """Labels as an index array; mixed strings and numbers stay as they are."""
    strings = [isinstance(label, str) for label in labels]
    if all(strings) or not any(strings):
        return np.array(labels)
    return np.array(labels, dtype=object)


def label_position(data: DimensionArray, label: Any) -> int | None:
    """The position of `label` along the dimension; RFC 3339 strings match datetime labels."""
    labels = data.data.indexes[data.dimension]
    wanted = label
    if labels.dtype.kind == "M" and isinstance(label, str):
        try:
            wanted = parse_datetime(label)
        except ValueError:
            return None
    matches = np.flatnonzero(labels == wanted)
    return int(matches[0]) if matches.size else None


def same_coordinates(ours: np.ndarray, theirs: np.ndarray) -> bool:
    """Spatial labels equal up to float noise: a thousandth of a pixel."""
    tolerance = abs(float(ours[1] - ours[0])) * 1e-3 if len(ours) > 1 else 1e-6
    return bool(np.allclose(ours, theirs, rtol=0, atol=tolerance))
