"""Array processes (create, combine, search, order, cumulate, interpolate, apply, filter).

Every process takes two kinds of `data`:

- a plain JSON array, handled exactly as its spec says (null and NaN are no-data,
  strict types as in `eq`, integers stay Python integers so sums and products never
  wrap). A *labeled* array outside cubes is a `LabeledArray` (made by
  `array_create_labeled`): a list that also carries one label per element, so processes
  that only need the values (reducers, `array_element` by index) read it as a list.
- a `DimensionArray` (the `data` of `reduce_dimension` or `apply_dimension`), handled
  lazily per pixel along its dimension (see the label rules in `eoplex_executor.engine.cube`).
  A list that holds cube values next to numbers (`[mean(data), 0]`) is stacked into one
  first, as the reducers do.

Errors the process specifications declare (`ArrayLabelConflict`, `LabelExists`, ...) are
raised as themselves, the others as `ProcessParameterInvalid`.
"""

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any, NoReturn

import numpy as np
import xarray as xr

from eoplex_common.errors import (
    ArrayElementNotAvailable,
    ArrayLabelConflict,
    ArrayLengthMismatch,
    ArrayNotLabeled,
    LabelExists,
    ProcessParameterInvalid,
)
from eoplex_common.process_graph import references
from eoplex_executor.engine.cube import (
    MAX_ARRAY_LENGTH,
    DimensionArray,
    format_datetime,
    parse_datetime,
)
from eoplex_executor.engine.registry import process
from eoplex_executor.processes._checks import (
    is_nodata,
    is_number,
    require_numbers,
    require_sequence,
)
from eoplex_executor.processes._children import ChildProcess, as_dimension_array, conform
from eoplex_executor.processes._labels import label_array, label_position
from eoplex_executor.processes.arithmetic import eq


class LabeledArray(list[Any]):
    """An openEO labeled array outside cubes: the values, plus `labels` (one per value)."""

    def __init__(self, values: Iterable[Any], labels: Iterable[Any]) -> None:
        super().__init__(values)
        self.labels = list(labels)
        if len(self.labels) != len(self):
            raise ValueError("a labeled array needs exactly one label per value")


def _invalid(process_id: str, parameter: str, reason: str) -> NoReturn:
    raise ProcessParameterInvalid(process=process_id, parameter=parameter, reason=reason)


def _labels_of(items: Any) -> list[Any] | None:
    """The labels of a JSON array, or None for an array without labels."""
    return items.labels if isinstance(items, LabeledArray) else None


def _relabeled(items: list[Any], labels: list[Any] | None) -> list[Any]:
    return items if labels is None else LabeledArray(items, labels)


# --- running numpy kernels along a DimensionArray ------------------------------------------


def _along(
    data: DimensionArray,
    kernel: Callable[..., np.ndarray],
    dtype: Any,
    *others: xr.DataArray,
    reduce: bool = False,
    relabel: bool = False,
) -> Any:
    """`kernel(values[..., n], *others[..., n])` on every chunk, lazily. It returns a value per
    pixel (`reduce`) or n values per pixel, which keep the dimension's labels unless their
    position no longer says which label they belong to (`relabel`: 0..n-1)."""
    values, dimension = data.data, data.dimension

    def run(*chunks: np.ndarray) -> np.ndarray:
        # No-data arithmetic must not warn when dask computes the cube much later.
        with np.errstate(all="ignore"):
            return kernel(*chunks).astype(dtype, copy=False)

    result = xr.apply_ufunc(
        run,
        values,
        *others,
        input_core_dims=[[dimension]] * (1 + len(others)),
        output_core_dims=[[] if reduce else [dimension]],
        dask="parallelized",
        output_dtypes=[dtype],
        dask_gufunc_kwargs={"allow_rechunk": True},
    )
    if reduce:
        return result
    result = result.transpose(*values.dims, ...)
    if relabel:
        result = result.assign_coords({dimension: np.arange(result.sizes[dimension])})
    return DimensionArray(result, dimension)


def _floating(values: xr.DataArray) -> xr.DataArray:
    """Values that can hold no-data (NaN): integers and booleans as float64."""
    return values if values.dtype.kind == "f" else values.astype(np.float64)


def _slice_template(data: DimensionArray) -> xr.DataArray:
    """One value per pixel: the shape a child process returns for one element (also when
    the dimension has no labels left, e.g. after a filter)."""
    if data.data.sizes[data.dimension] == 0:
        return data.data.sum(dim=data.dimension)
    return data.data.isel({data.dimension: 0}, drop=True)


def _values_along(
    items: Sequence[Any] | DimensionArray, like: DimensionArray, process_id: str, parameter: str
) -> xr.DataArray:
    """JSON numbers, null and per-pixel cube values as values along `like`'s dimension
    (unlabeled), so they can be joined to it."""
    if isinstance(items, DimensionArray):
        if items.dimension != like.dimension:
            _invalid(
                process_id,
                parameter,
                f"the arrays run along different dimensions ({items.dimension!r} and "
                f"{like.dimension!r}).",
            )
        return items.data.drop_vars(like.dimension, errors="ignore")
    for item in items:
        if not (item is None or isinstance(item, bool | int | float | np.generic | xr.DataArray)):
            _invalid(
                process_id,
                parameter,
                f"a pixel holds one number, not {type(item).__name__} (nested arrays cannot "
                "join a dimension).",
            )
    template = _slice_template(like)
    if not items:
        return template.expand_dims({like.dimension: 0})
    conformed = [conform(item, template, process_id, parameter) for item in items]
    return xr.concat(conformed, dim=like.dimension, coords="minimal", compat="override")


def _joined(
    parts: Sequence[xr.DataArray], labels: list[Any] | None, data: DimensionArray
) -> DimensionArray:
    """`parts` one after the other along the dimension, labelled `labels` or 0..n-1."""
    dimension = data.dimension
    bare = [part.drop_vars(dimension, errors="ignore") for part in parts]
    joined = xr.concat(bare, dim=dimension, coords="minimal", compat="override", join="outer")
    count = joined.sizes[dimension]
    coordinate = _label_coordinate(labels) if labels is not None else np.arange(count)
    order = [*data.data.dims] + [dim for dim in joined.dims if dim not in data.data.dims]
    return DimensionArray(
        joined.assign_coords({dimension: coordinate}).transpose(*order), dimension
    )


def _coordinate_labels(data: DimensionArray) -> list[Any]:
    """The labels as values that can be joined with other labels (datetimes stay datetimes,
    see `_label_coordinate`)."""
    return list(data.data.coords[data.dimension].values)


def _label_coordinate(labels: list[Any]) -> np.ndarray:
    """Joined labels as a coordinate: datetime64 if they all are, else datetimes as RFC 3339
    strings next to the other labels (e.g. the index a value appended to a time series gets)."""
    times = [isinstance(label, np.datetime64) for label in labels]
    if labels and all(times):
        return np.array(labels, dtype="datetime64[ns]")
    if any(times):
        labels = [
            format_datetime(label) if time else label
            for label, time in zip(labels, times, strict=True)
        ]
    return label_array(labels)


def _label_for(data: DimensionArray, label: Any) -> Any:
    """A JSON label as a label of `data`'s dimension (RFC 3339 strings for temporal ones)."""
    if data.data.indexes[data.dimension].dtype.kind == "M" and isinstance(label, str):
        try:
            return parse_datetime(label)
        except ValueError:
            return label
    return label


def _no_conflict(process_id: str, parameter: str, first: list[Any], second: list[Any]) -> None:
    """ArrayLabelConflict unless the two label lists are disjoint."""
    keys = {_label_key(label) for label in first}
    shared = [label for label in second if _label_key(label) in keys]
    if shared:
        raise ArrayLabelConflict(
            process=process_id,
            parameter=parameter,
            reason=f"both arrays have the labels {', '.join(map(str, shared))}.",
        )


def _same_label(first: Any, second: Any) -> bool:
    """Labels match with strict types: 1 is 1.0, but not "1"."""
    for kind in (str, np.datetime64):
        if isinstance(first, kind) and isinstance(second, kind):
            return bool(first == second)
    return is_number(first) and is_number(second) and bool(first == second)


def _label_key(label: Any) -> tuple[str, Any]:
    """A hashable key of a label, equal for labels that `_same_label` matches (numbers that
    are equal hash alike), so label lists of any length are compared in linear time."""
    for kind, name in ((str, "string"), (np.datetime64, "datetime")):
        if isinstance(label, kind):
            return (name, label)
    return ("number", label) if is_number(label) else ("other", id(label))


# --- creating and combining arrays ------------------------------------------------------


@process()
def array_create(data: Any = None, repeat: Any = 1) -> Any:
    """openEO `array_create`: `data` repeated `repeat` times. A list holding cube values
    (`[mean(data), sd(data)]` in a child process) becomes values per pixel; a DimensionArray
    is repeated along its dimension. Raises ProcessParameterInvalid for a `repeat` below 1."""
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        _invalid("array_create", "repeat", "expected an integer of at least 1.")
    data = [] if data is None else data
    dimension_array = as_dimension_array(data)
    length = (
        dimension_array.data.sizes[dimension_array.dimension]
        if dimension_array is not None
        else len(require_sequence("array_create", data))
    )
    if max(length, 1) * repeat > MAX_ARRAY_LENGTH:
        _invalid("array_create", "repeat", f"the array would exceed {MAX_ARRAY_LENGTH} elements.")
    if dimension_array is not None:
        if repeat == 1:
            return dimension_array
        return _joined([dimension_array.data] * repeat, None, dimension_array)
    items = require_sequence("array_create", data)
    # The repeated labels would not be unique, so a labeled array keeps them only once.
    return _relabeled(items, _labels_of(data)) if repeat == 1 else items * repeat


@process()
def array_create_labeled(data: Any, labels: Any) -> Any:
    """openEO `array_create_labeled` (proposal): `data` labelled with `labels`; on a
    DimensionArray, its dimension relabelled. Raises ProcessParameterInvalid for the spec's
    ArrayLengthMismatch and for labels that are not unique numbers or strings."""
    if not isinstance(labels, list) or not all(
        is_number(label) or isinstance(label, str) for label in labels
    ):
        _invalid("array_create_labeled", "labels", "expected an array of numbers or strings.")
    if len({_label_key(label) for label in labels}) != len(labels):
        _invalid("array_create_labeled", "labels", "the labels must be unique.")
    dimension_array = as_dimension_array(data)
    count = (
        dimension_array.data.sizes[dimension_array.dimension]
        if dimension_array is not None
        else len(require_sequence("array_create_labeled", data))
    )
    if count != len(labels):
        raise ArrayLengthMismatch(
            process="array_create_labeled",
            parameter="labels",
            reason=f"{count} values, {len(labels)} labels.",
        )
    if dimension_array is not None:
        relabelled = dimension_array.data.assign_coords(
            {dimension_array.dimension: label_array(labels)}
        )
        return DimensionArray(relabelled, dimension_array.dimension)
    return LabeledArray(require_sequence("array_create_labeled", data), labels)


@process()
def array_labels(data: Any) -> list[Any]:
    """openEO `array_labels`: the labels of a labeled array (a DimensionArray's dimension
    labels, RFC 3339 strings for time), else the indices 0..n-1."""
    if isinstance(data, DimensionArray):
        return data.labels()
    items = require_sequence("array_labels", data)
    labels = _labels_of(data)
    return list(labels) if labels is not None else list(range(len(items)))


@process()
def array_append(data: Any, value: Any, label: Any = None) -> Any:
    """openEO `array_append`: `value` after the last element. On a labeled array (and a
    DimensionArray) it is labelled `label`, or the next index when that is null. Raises
    LabelExists and ArrayNotLabeled as the spec says."""
    if label is not None and not (is_number(label) or isinstance(label, str)):
        _invalid("array_append", "label", "expected a number, a string or null.")
    if isinstance(data, DimensionArray):
        return _append_along(data, value, label)
    # A list of cube values stays a list (unlabeled); processes that need values per pixel
    # stack it when they read it.
    items = require_sequence("array_append", data)
    labels = _labels_of(data)
    if labels is None:
        if label is not None:
            raise ArrayNotLabeled(
                process="array_append", parameter="label", reason=f"the label is {label!r}."
            )
        return [*items, value]
    new_label = len(items) if label is None else label
    _label_must_be_new(labels, new_label)
    return LabeledArray([*items, value], [*labels, new_label])


def _label_must_be_new(labels: list[Any], label: Any) -> None:
    if any(_same_label(existing, label) for existing in labels):
        _label_exists(label)


def _label_exists(label: Any) -> NoReturn:
    raise LabelExists(
        process="array_append",
        parameter="label",
        reason=f"the array has an element labelled {label!r}.",
    )


def _append_along(data: DimensionArray, value: Any, label: Any) -> DimensionArray:
    count = data.data.sizes[data.dimension]
    new_label = count if label is None else label
    if label_position(data, new_label) is not None:
        _label_exists(new_label)
    appended = _values_along([value], data, "array_append", "value")
    labels = [*_coordinate_labels(data), _label_for(data, new_label)]
    return _joined([data.data, appended], labels, data)


@process()
def array_concat(array1: Any, array2: Any) -> Any:
    """openEO `array_concat`: `array2` after `array1`. Labels are kept only when both arrays
    are labeled (DimensionArrays are); raises ArrayLabelConflict for a label in both."""
    like = next((a for a in (array1, array2) if isinstance(a, DimensionArray)), None)
    if like is not None:
        return _concat_along(array1, array2, like)
    items1, items2 = _array("array1", array1), _array("array2", array2)
    labels1, labels2 = _labels_of(array1), _labels_of(array2)
    if labels1 is None or labels2 is None:
        return items1 + items2
    _no_conflict("array_concat", "array2", labels1, labels2)
    return LabeledArray(items1 + items2, labels1 + labels2)


def _concat_along(array1: Any, array2: Any, like: DimensionArray) -> DimensionArray:
    """array_concat with a DimensionArray: the other array (JSON numbers or per-pixel values)
    joins it along its dimension."""
    parts = [
        _values_along(
            array if isinstance(array, DimensionArray) else _array(name, array),
            like,
            "array_concat",
            name,
        )
        for name, array in (("array1", array1), ("array2", array2))
    ]
    labels = None
    if isinstance(array1, DimensionArray) and isinstance(array2, DimensionArray):
        labels = _coordinate_labels(array1)
        _no_conflict("array_concat", "array2", labels, _coordinate_labels(array2))
        labels += _coordinate_labels(array2)
    return _joined(parts, labels, like)


def _array(parameter: str, value: Any) -> list[Any]:
    if not isinstance(value, list | tuple):
        _invalid("array_concat", parameter, "expected an array.")
    return list(value)


@process()
def array_modify(data: Any, values: Any, index: Any, length: Any = 0) -> Any:
    """openEO `array_modify` (proposal): replace `length` elements from `index` on by `values`
    (insert for length 0, remove for no values). Labels are kept when both arrays are labeled
    or either is empty. Raises ArrayElementNotAvailable for an index past the end and
    ArrayLabelConflict for an inserted label that stays in `data`."""
    for name, number in (("index", index), ("length", length)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            _invalid("array_modify", name, "expected an integer of at least 0.")
    if isinstance(data, DimensionArray):
        return _modify_along(data, values, index, length)
    items = require_sequence("array_modify", data)
    inserted = require_sequence("array_modify", values)
    if index > len(items):
        _not_available(index, len(items))
    result = items[:index] + inserted + items[index + length :]
    data_labels, value_labels = _labels_of(data), _labels_of(values)
    if not inserted:
        value_labels = []
    if not items:
        data_labels = []
    if data_labels is None or value_labels is None:
        return result
    kept = data_labels[:index] + data_labels[index + length :]
    _no_conflict("array_modify", "values", kept, value_labels)
    labels = data_labels[:index] + value_labels + data_labels[index + length :]
    return LabeledArray(result, labels) if labels or result else result


def _modify_along(data: DimensionArray, values: Any, index: int, length: int) -> DimensionArray:
    dimension, count = data.dimension, data.data.sizes[data.dimension]
    if index > count:
        _not_available(index, count)
    labeled = isinstance(values, DimensionArray)
    inserted_values = values if labeled else require_sequence("array_modify", values)
    inserted = _values_along(inserted_values, data, "array_modify", "values")
    before = data.data.isel({dimension: slice(0, index)})
    after = data.data.isel({dimension: slice(index + length, None)})
    labels: list[Any] | None = None
    own = _coordinate_labels(data)
    kept = own[:index] + own[index + length :]
    if inserted.sizes[dimension] == 0:
        labels = kept
    elif labeled:
        new = _coordinate_labels(values)
        _no_conflict("array_modify", "values", kept, new)
        labels = own[:index] + new + own[index + length :]
    return _joined([before, inserted, after], labels, data)


def _not_available(index: int, count: int) -> NoReturn:
    raise ArrayElementNotAvailable(
        process="array_modify",
        parameter="index",
        reason=f"the index {index} is larger than the number of elements, {count}.",
    )


# --- searching ---------------------------------------------------------------------------


def _matches(data: DimensionArray, value: Any) -> xr.DataArray | None:
    """Where each pixel's values equal `value` (strict types as in `eq`), or None when no
    value of this array can (null, NaN, arrays, objects, another type)."""
    values = data.data
    kind = values.dtype.kind
    if isinstance(value, DimensionArray):
        value = value.data
    if isinstance(value, xr.DataArray):
        comparable = value.dtype.kind == kind or {value.dtype.kind, kind} <= set("iuf")
        return (values == value) if comparable else None
    if isinstance(value, bool):
        return (values == value) if kind == "b" else None
    if is_number(value):
        return (values == value) if kind in "iuf" and not np.isnan(value) else None
    if isinstance(value, str) and kind == "U":
        return values == value
    return None


@process()
def array_contains(data: Any, value: Any) -> Any:
    """openEO `array_contains`: whether `data` holds `value` (compared as `eq` does: strictly
    typed, no match for null, NaN, arrays or objects); per pixel on a DimensionArray."""
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        matches = _matches(dimension_array, value)
        if matches is None:
            return xr.zeros_like(_slice_template(dimension_array), dtype=bool)
        return matches.any(dim=dimension_array.dimension)
    items = require_sequence("array_contains", data)
    return _first_match(items, value, reverse=False) is not None


@process()
def array_find(data: Any, value: Any, reverse: bool = False) -> Any:
    """openEO `array_find`: the index of the first (last with `reverse`) element equal to
    `value`, or null (NaN per pixel on a DimensionArray) when there is none or `value` is
    null, an array or an object."""
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        matches = _matches(dimension_array, value)
        if matches is None or dimension_array.data.sizes[dimension_array.dimension] == 0:
            return xr.full_like(_slice_template(dimension_array), np.nan, dtype=np.float64)
        positions = DimensionArray(matches, dimension_array.dimension)
        return _along(positions, partial(_find_kernel, reverse), np.float64, reduce=True)
    return _first_match(require_sequence("array_find", data), value, reverse=bool(reverse))


def _first_match(items: list[Any], value: Any, *, reverse: bool) -> int | None:
    if value is None or isinstance(value, list | dict):
        return None
    positions = range(len(items) - 1, -1, -1) if reverse else range(len(items))
    # `eq` on JSON values: null gives null, which is no match, and types are strict.
    return next((i for i in positions if eq(x=items[i], y=value) is True), None)


def _find_kernel(reverse: bool, matches: np.ndarray) -> np.ndarray:
    count = matches.shape[-1]
    ordered = matches[..., ::-1] if reverse else matches
    first = np.argmax(ordered, axis=-1)
    position = count - 1 - first if reverse else first
    return np.where(matches.any(axis=-1), position, np.nan)


@process()
def array_find_label(data: Any, label: Any) -> int | None:
    """openEO `array_find_label` (proposal): the index of `label`, or null when the array has
    no such label or no labels at all. RFC 3339 strings find temporal labels."""
    if not (is_number(label) or isinstance(label, str)):
        _invalid("array_find_label", "label", "expected a number or a string.")
    if isinstance(data, DimensionArray):
        return label_position(data, label)
    require_sequence("array_find_label", data)
    labels = _labels_of(data) or []
    return next((i for i, own in enumerate(labels) if _same_label(own, label)), None)


# --- child processes ---------------------------------------------------------------------


def _reads_position(child: ChildProcess) -> bool:
    """Whether the child process reads `index` or `label`; a child that does not can run once
    on all values of a dimension instead of once per label."""
    graph = getattr(child, "graph", None)
    if graph is None:
        return True
    # Child process graphs nested in it count too; walked iteratively, like validation.
    pending = [graph]
    while pending:
        found = references(list(pending.pop().values()))
        if any(name in ("index", "label") for name in found.parameters):
            return True
        pending.extend(nested for nested in found.graphs if isinstance(nested, Mapping))
    return False


def _each_element(child: ChildProcess, data: DimensionArray, context: Any) -> list[Any]:
    """The child's result for every label: x the pixels' values there, index, label."""
    values, dimension = data.data, data.dimension
    return [
        child(x=values.isel({dimension: i}, drop=True), index=i, label=label, context=context)
        for i, label in enumerate(data.labels())
    ]


@process()
def array_apply(data: Any, process: ChildProcess, context: Any = None) -> Any:
    """openEO `array_apply`: `process` on every element (x, index, label, context); labels
    are kept. On a DimensionArray the child sees every pixel's value at one label (or, when it
    reads neither index nor label, all values at once). Raises ProcessParameterInvalid when
    the child returns more than a value per pixel there."""
    if isinstance(data, DimensionArray):
        values = data.data
        if not _reads_position(process):
            result = process(x=values, context=context)
            conformed = conform(result, values, "array_apply", "process")
            return DimensionArray(conformed.assign_coords(values.coords), data.dimension)
        template = _slice_template(data)
        results = [
            conform(result, template, "array_apply", "process")
            for result in _each_element(process, data, context)
        ]
        return _joined(results, _coordinate_labels(data), data)
    items = require_sequence("array_apply", data)
    labels = _labels_of(data)
    results = [
        process(x=item, index=i, label=None if labels is None else labels[i], context=context)
        for i, item in enumerate(items)
    ]
    return _relabeled(results, labels)


@process()
def array_filter(data: Any, condition: ChildProcess, context: Any = None) -> Any:
    """openEO `array_filter`: the elements for which `condition` (x, index, label, context)
    is true; labels are kept. On a DimensionArray a condition that depends only on the index or
    label drops labels for all pixels; one that depends on the values keeps, per pixel, the
    values that pass, moved to the front and followed by no-data (labels 0..n-1)."""
    if isinstance(data, DimensionArray):
        return _filter_along(data, condition, context)
    items = require_sequence("array_filter", data)
    labels = _labels_of(data)
    keep = [
        condition(x=item, index=i, label=None if labels is None else labels[i], context=context)
        is True
        for i, item in enumerate(items)
    ]
    kept = [item for item, wanted in zip(items, keep, strict=True) if wanted]
    if labels is None:
        return kept
    return LabeledArray(kept, [label for label, wanted in zip(labels, keep, strict=True) if wanted])


def _filter_along(data: DimensionArray, condition: ChildProcess, context: Any) -> DimensionArray:
    values, dimension = data.data, data.dimension
    results: list[Any]
    if _reads_position(condition):
        results = _each_element(condition, data, context)
    else:
        whole = condition(x=values, context=context)
        whole = whole.data if isinstance(whole, DimensionArray) else whole
        count = values.sizes[dimension]
        if isinstance(whole, xr.DataArray) and dimension in whole.dims:
            results = [whole.isel({dimension: i}, drop=True) for i in range(count)]
        else:
            results = [whole] * count
    if not any(isinstance(result, xr.DataArray) for result in results):
        kept = [i for i, result in enumerate(results) if result is True]
        return DimensionArray(values.isel({dimension: kept}), dimension)
    template = _slice_template(data)
    passes = [_truth(conform(result, template, "array_filter", "condition")) for result in results]
    keep = xr.concat(passes, dim=dimension, coords="minimal", compat="override")
    return _along(
        DimensionArray(_floating(values), dimension),
        _compact_kernel,
        _floating(values).dtype,
        keep.drop_vars(dimension, errors="ignore").assign_coords(
            {dimension: values.coords[dimension].values}
        ),
        relabel=True,
    )


def _truth(values: xr.DataArray) -> xr.DataArray:
    """A condition's answer per pixel: true only where it is true (not no-data)."""
    if values.dtype.kind == "b":
        return values
    return (values != 0) & values.notnull()


def _compact_kernel(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The kept values of each pixel first, in their order, then no-data."""
    keep = np.broadcast_to(keep, values.shape)
    first = np.argsort(~keep, axis=-1, kind="stable")
    compacted = np.take_along_axis(values, first, axis=-1)
    unused = np.arange(values.shape[-1]) >= keep.sum(axis=-1, keepdims=True)
    return np.where(unused, np.nan, compacted)


# --- ordering ----------------------------------------------------------------------------


def _check_flags(process_id: str, asc: Any, nodata: Any) -> None:
    if not isinstance(asc, bool):
        _invalid(process_id, "asc", "expected true or false.")
    if nodata is not None and not isinstance(nodata, bool):
        _invalid(process_id, "nodata", "expected true, false or null.")


def _sort_keys(process_id: str, items: list[Any]) -> list[Any]:
    """Comparable keys for numbers, or for dates and date-times (as instants, since their
    strings do not sort by time across offsets); None for no-data. Mixing is invalid."""
    keys: list[Any] = []
    kinds = set()
    for item in items:
        if is_nodata(item):
            keys.append(None)
        elif is_number(item):
            kinds.add("number")
            keys.append(item)
        elif isinstance(item, str):
            kinds.add("temporal")
            try:
                keys.append(parse_datetime(item))
            except ValueError:
                _invalid(process_id, "data", f"{item!r} is neither a date nor a date-time.")
        else:
            _invalid(process_id, "data", f"cannot order {type(item).__name__} values.")
    if len(kinds) > 1:
        _invalid(process_id, "data", "numbers and temporal strings cannot be ordered together.")
    return keys


def _order_items(process_id: str, items: list[Any], asc: bool, nodata: bool | None) -> list[int]:
    keys = _sort_keys(process_id, items)
    missing = [i for i, key in enumerate(keys) if key is None]
    # Python's sort is stable, also with reverse=True: ties keep their original order.
    ranked = sorted(
        (i for i, key in enumerate(keys) if key is not None),
        key=lambda i: keys[i],
        reverse=not asc,
    )
    if nodata is None:
        return ranked
    return ranked + missing if nodata else missing + ranked


def _permutation(asc: bool, nodata: bool | None, values: np.ndarray) -> np.ndarray:
    """Each pixel's stable sorting permutation; no-data last (or first for nodata=false)."""
    if asc:
        ranked = np.argsort(values, axis=-1, kind="stable")
    else:
        # Stable descending order: sort the reversed values and reverse again.
        reversed_rank = np.argsort(values[..., ::-1], axis=-1, kind="stable")
        ranked = values.shape[-1] - 1 - reversed_rank[..., ::-1]
    if values.dtype.kind != "f":
        return ranked
    missing = np.isnan(np.take_along_axis(values, ranked, axis=-1))
    placing = ~missing if nodata is False else missing
    return np.take_along_axis(ranked, np.argsort(placing, axis=-1, kind="stable"), axis=-1)


def _order_kernel(asc: bool, nodata: bool | None, values: np.ndarray) -> np.ndarray:
    ranked = _permutation(asc, nodata, values)
    if nodata is not None or values.dtype.kind != "f":
        return ranked
    # Removed no-data: the pixel has fewer positions, the rest are no-data.
    missing = np.isnan(np.take_along_axis(values, ranked, axis=-1))
    return np.where(missing, np.nan, ranked)


@process()
def order(data: Any, asc: bool = True, nodata: Any = None) -> Any:
    """openEO `order`: the positions that sort `data` (stable: ties keep their order), no-data
    removed (null), last (true) or first (false). Dates and date-times are ordered as
    instants. On a DimensionArray: positions per pixel, labelled 0..n-1; a pixel's removed
    no-data leaves no-data positions at its end. Raises ProcessParameterInvalid for values
    that are neither numbers nor temporal strings, or a mix of both."""
    _check_flags("order", asc, nodata)
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        floating = dimension_array.data.dtype.kind == "f" and nodata is None
        kernel = partial(_order_kernel, asc, nodata)
        dtype = np.float64 if floating else np.int64
        return _along(dimension_array, kernel, dtype, relabel=True)
    return _order_items("order", require_sequence("order", data), asc, nodata)


@process()
def rearrange(data: Any, order: Any) -> Any:
    """openEO `rearrange`: the elements of `data` at the positions in `order` (labels move
    with their values). `order` may be per pixel (the result of `order` on a DimensionArray),
    where a no-data or out-of-range position gives no-data. Raises ProcessParameterInvalid for
    positions that are not integers within the array."""
    positions_along = as_dimension_array(order)
    dimension_array = as_dimension_array(data)
    if positions_along is not None:
        if dimension_array is None:
            _invalid("rearrange", "data", "per-pixel positions need per-pixel values.")
        return _rearrange_per_pixel(dimension_array, positions_along)
    positions = require_sequence("rearrange", order)
    count = (
        dimension_array.data.sizes[dimension_array.dimension]
        if dimension_array is not None
        else len(require_sequence("rearrange", data))
    )
    for position in positions:
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < count:
            _invalid("rearrange", "order", f"{position!r} is not a position of the array.")
    unique = len(set(positions)) == len(positions)
    if dimension_array is not None:
        picked = dimension_array.data.isel({dimension_array.dimension: positions})
        if not unique:
            picked = picked.assign_coords({dimension_array.dimension: np.arange(len(positions))})
        return DimensionArray(picked, dimension_array.dimension)
    items = require_sequence("rearrange", data)
    labels = _labels_of(data)
    picked_items = [items[position] for position in positions]
    if labels is None or not unique:
        return picked_items
    return LabeledArray(picked_items, [labels[position] for position in positions])


def _rearrange_per_pixel(data: DimensionArray, positions: DimensionArray) -> DimensionArray:
    dimension = data.dimension
    if positions.dimension != dimension:
        _invalid("rearrange", "order", "the positions run along another dimension than the data.")
    values = _floating(data.data).drop_vars(dimension)
    wanted = positions.data.drop_vars(dimension, errors="ignore")
    if wanted.sizes[dimension] != values.sizes[dimension]:
        # As many results as positions: the values cut or padded with no-data to that length.
        values = values.isel({dimension: slice(0, wanted.sizes[dimension])})
        values = values.pad({dimension: (0, wanted.sizes[dimension] - values.sizes[dimension])})
    return _along(
        DimensionArray(values, dimension), _take_kernel, values.dtype, wanted, relabel=True
    )


def _take_kernel(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    count = values.shape[-1]
    positions = np.broadcast_to(positions, values.shape)
    valid = ~np.isnan(positions) & (positions >= 0) & (positions < count)
    index = np.where(valid, positions, 0).astype(np.intp)
    picked = np.take_along_axis(values, index, axis=-1) if count else values
    return np.where(valid, picked, np.nan)


@process()
def sort(data: Any, asc: bool = True, nodata: Any = None) -> Any:
    """openEO `sort`: `data` in ascending (descending) order, stable, no-data removed (null),
    last (true) or first (false); labels of a labeled array move with their values. On a
    DimensionArray every pixel is sorted, labelled 0..n-1, and its removed no-data stays as
    no-data at its end (a cube keeps one length per dimension). Raises
    ProcessParameterInvalid as `order` does."""
    _check_flags("sort", asc, nodata)
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        values = dimension_array.data

        def kernel(chunk: np.ndarray) -> np.ndarray:
            ranked = _permutation(asc, nodata, chunk)
            return np.take_along_axis(chunk, ranked, axis=-1)

        return _along(dimension_array, kernel, values.dtype, relabel=True)
    return rearrange(data, _order_items("sort", require_sequence("sort", data), asc, nodata))


# --- cumulative processes and interpolation ----------------------------------------------


def _cumulative(
    process_id: str,
    data: Any,
    ignore_nodata: bool,
    combine: Callable[[Any, Any], Any],
    accumulate: np.ufunc,
    neutral: float,
) -> Any:
    """Running `combine` over the numbers; no-data stays no-data and is skipped (or, not
    ignored, makes every later value no-data). JSON integers use Python's unbounded ints;
    integer cube values are accumulated in float64 (sum, product) so they cannot wrap."""
    if not isinstance(ignore_nodata, bool):
        _invalid(process_id, "ignore_nodata", "expected true or false.")
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        values = dimension_array.data
        kind = values.dtype.kind
        if kind == "b" or (kind in "iu" and accumulate in (np.add, np.multiply)):
            values = values.astype(np.float64)
        kernel = partial(_cumulative_kernel, accumulate, neutral, ignore_nodata)
        return _along(DimensionArray(values, dimension_array.dimension), kernel, values.dtype)
    items = require_sequence(process_id, data)
    require_numbers(process_id, items)
    results: list[Any] = []
    running: Any = None
    stopped = False
    for item in items:
        if stopped or is_nodata(item):
            stopped = stopped or not ignore_nodata
            results.append(None if stopped else item)
            continue
        running = item if running is None else combine(running, item)
        results.append(running)
    return _relabeled(results, _labels_of(data))


def _cumulative_kernel(
    accumulate: np.ufunc, neutral: float, ignore_nodata: bool, values: np.ndarray
) -> np.ndarray:
    if values.dtype.kind != "f":
        return accumulate.accumulate(values, axis=-1)
    nodata = np.isnan(values)
    running = accumulate.accumulate(np.where(nodata, neutral, values), axis=-1)
    hidden = nodata if ignore_nodata else np.logical_or.accumulate(nodata, axis=-1)
    return np.where(hidden, np.nan, running)


@process()
def cumsum(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `cumsum` (proposal): running sums; labels are kept."""
    return _cumulative("cumsum", data, ignore_nodata, lambda a, b: a + b, np.add, 0.0)


@process()
def cumproduct(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `cumproduct` (proposal): running products; labels are kept."""
    return _cumulative("cumproduct", data, ignore_nodata, lambda a, b: a * b, np.multiply, 1.0)


@process()
def cummax(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `cummax` (proposal): running maxima; labels are kept."""
    return _cumulative("cummax", data, ignore_nodata, max, np.fmax, -np.inf)


@process()
def cummin(data: Any, ignore_nodata: bool = True) -> Any:
    """openEO `cummin` (proposal): running minima; labels are kept."""
    return _cumulative("cummin", data, ignore_nodata, min, np.fmin, np.inf)


def _interpolate_kernel(positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    """No-data between two numbers filled on the line between them over `positions` (the
    x axis); leading and trailing no-data stay."""
    count = values.shape[-1]
    if count == 0:
        return values
    index = np.arange(count)
    valid = ~np.isnan(values)
    before = np.maximum.accumulate(np.where(valid, index, -1), axis=-1)
    after = np.minimum.accumulate(np.where(valid, index, count)[..., ::-1], axis=-1)[..., ::-1]
    inside = ~valid & (before >= 0) & (after < count)
    low, high = np.clip(before, 0, count - 1), np.clip(after, 0, count - 1)
    y0 = np.take_along_axis(values, low, axis=-1)
    y1 = np.take_along_axis(values, high, axis=-1)
    x0, x1 = positions[low], positions[high]
    filled = y0 + (positions - x0) * (y1 - y0) / np.where(inside, x1 - x0, 1)
    return np.where(inside, filled, values)


def _positions(labels: Sequence[Any] | np.ndarray) -> np.ndarray:
    """The x axis of an interpolation: numeric labels, temporal labels (in seconds), or the
    indices when the labels have no order of their own (band names)."""
    array = np.asarray(labels)
    if array.dtype.kind in "iuf" and array.dtype.kind != "b":
        return array.astype(np.float64)
    if array.dtype.kind == "M":
        return (array - array[0]) / np.timedelta64(1, "s") if array.size else array
    if all(isinstance(label, str) for label in labels):
        try:
            return _positions(np.array([parse_datetime(label) for label in labels]))
        except ValueError:
            pass  # not temporal: band names and other strings have no order of their own
    return np.arange(len(array), dtype=np.float64)


@process()
def array_interpolate_linear(data: Any) -> Any:
    """openEO `array_interpolate_linear`: no-data (and NaN) between two numbers replaced by
    linear interpolation over the labels (numbers or times; indices otherwise), leading and
    trailing no-data kept; labels are kept. On a DimensionArray per pixel, along time by the
    dates. Raises ProcessParameterInvalid for values that are not numbers or null."""
    dimension_array = as_dimension_array(data)
    if dimension_array is not None:
        values = dimension_array.data
        if values.dtype.kind != "f":
            return dimension_array  # integers hold no no-data to fill
        labels = values.indexes[dimension_array.dimension]
        kernel = partial(_interpolate_kernel, _positions(np.asarray(labels)))
        return _along(dimension_array, kernel, values.dtype)
    items = require_sequence("array_interpolate_linear", data)
    labels = _labels_of(data)
    numbers = require_numbers("array_interpolate_linear", items)
    axis = _positions(labels) if labels is not None else np.arange(len(items), dtype=np.float64)
    with np.errstate(all="ignore"):
        filled = _interpolate_kernel(axis, numbers)
    results = [
        float(new) if is_nodata(item) and not np.isnan(new) else item
        for item, new in zip(items, filled.tolist(), strict=True)
    ]
    return _relabeled(results, labels)
