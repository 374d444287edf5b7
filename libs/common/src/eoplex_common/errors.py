"""The openEO error hierarchy: one class per code of the openEO API 1.2 `errors.json`.

Every failure a user can see is one of these. Services raise them without any
transport knowledge; the gRPC interceptor carries `code` and `message` across
the boundary (see `eoplex_common.grpc`) and the gateway renders them as
`{id, code, message, links}` with `status` as the HTTP status. The spec's codes
are checked against `specs/errors.json` by a test; the back-end's own codes
(`ServiceUnavailable`, `UpstreamUnavailable`, `TooManyRequests`, `PayloadTooLarge`,
`RangeNotSatisfiable`,
`JobFailed`, `BadRequest`) follow
the spec's advice to add codes where none fits. Exceptions that the process
specifications declare (`NoDataAvailable`, ...) are `ProcessException`s named as there.
"""

import string
from typing import Any, ClassVar


class OpenEOError(Exception):
    """Base of every openEO error. `message` templates take the spec's placeholders."""

    code: ClassVar[str] = "Internal"
    status: ClassVar[int] = 500
    message_template: ClassVar[str] = "Server error: {message}"
    # HTTP headers of the response; an instance may replace them (e.g. its `Retry-After`).
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None, **params: Any) -> None:
        if message is None:
            names = {n for _, n, _, _ in string.Formatter().parse(self.message_template) if n}
            values = {name: params.get(name, "") for name in names}
            message = self.message_template.format(**values)
        super().__init__(message)
        self.message = message
        self.params = params


ERRORS: dict[str, type[OpenEOError]] = {}


def _register(cls: type[OpenEOError]) -> type[OpenEOError]:
    ERRORS[cls.code] = cls
    return cls


def error_for_code(code: str, message: str) -> OpenEOError:
    """Rebuild an error from its code, e.g. on the client side of a gRPC call."""
    cls = ERRORS.get(code)
    if cls is None:
        error = OpenEOError(message)
        error.code = code  # type: ignore[misc]
        return error
    return cls(message)


@_register
class Internal(OpenEOError):
    """An internal server error with a proprietary message."""

    code = "Internal"
    status = 500
    message_template = "Server error: {message}"


@_register
class NotFound(OpenEOError):
    """To be used if the requested resource does not exist. Note: There are specialized errors for missing jobs (JobNotFound), files (FileNotFound), etc. Unsupported endpoints MAY send an 'FeatureUnsupported' (501) error."""

    code = "NotFound"
    status = 404
    message_template = "Resource not found."


@_register
class FeatureUnsupported(OpenEOError):
    """The back-end responds with this error whenever an endpoint is specified in the openEO API, but is not supported."""

    code = "FeatureUnsupported"
    status = 501
    message_template = "Feature not supported."


@_register
class InfrastructureMaintenance(OpenEOError):
    """Service is currently not available as the infrastructure is currently undergoing maintenance work."""

    code = "InfrastructureMaintenance"
    status = 503
    message_template = "Service is not available at the moment due to maintenance work. Please try again later or contact our support."


@_register
class InfrastructureBusy(OpenEOError):
    """Service is generally available, but the infrastructure can't handle it at the moment as too many requests are processed."""

    code = "InfrastructureBusy"
    status = 503
    message_template = "Service is not available at the moment due to overloading. Please try again later or contact our support."


@_register
class UnsupportedApiVersion(OpenEOError):
    """The service doesn't support the openEO API version specified in the request URL. Clients should check well-known document for supported versions."""

    code = "UnsupportedApiVersion"
    status = 404
    message_template = "The requested API version '{version}' is not supported."


@_register
class RequestTimeout(OpenEOError):
    """The request took too long and timed out."""

    code = "RequestTimeout"
    status = 408
    message_template = "Request timed out."


@_register
class BudgetInvalid(OpenEOError):
    """The budget is too low as it is either smaller than or equal to 0 or below the costs."""

    code = "BudgetInvalid"
    status = 400
    message_template = "The specified budget is too low."


@_register
class EstimateComplexity(OpenEOError):
    """The process is too complex to calculate an estimate, e.g. due to a UDF or other processes that are complex to estimate costs reliably."""

    code = "EstimateComplexity"
    status = 500
    message_template = "The process is too complex to calculate an estimate."


@_register
class NoDataForUpdate(OpenEOError):
    """For PATCH requests: No valid data specified at all."""

    code = "NoDataForUpdate"
    status = 400
    message_template = "No data specified to be updated."


@_register
class PropertyNotEditable(OpenEOError):
    """For PATCH requests: The specified parameter can't be updated. It is read-only."""

    code = "PropertyNotEditable"
    status = 400
    message_template = "The specified property '{property}' is read-only."


@_register
class CollectionNotFound(OpenEOError):
    """The requested collection does not exist."""

    code = "CollectionNotFound"
    status = 404
    message_template = "Collection '{identifier}' does not exist."


@_register
class StorageFailure(OpenEOError):
    """Server couldn't store file(s) due to server-side reasons."""

    code = "StorageFailure"
    status = 500
    message_template = "Unable to store files due to a server error. Please try again later or contact our support."


@_register
class StorageQuotaExceeded(OpenEOError):
    """The storage quota has been exceeded by the user."""

    code = "StorageQuotaExceeded"
    status = 400
    message_template = "Your storage quota has been exceeded."


@_register
class FileNotFound(OpenEOError):
    """The requested file does not exist."""

    code = "FileNotFound"
    status = 404
    message_template = "File '{file}' does not exist."


@_register
class FilePathInvalid(OpenEOError):
    """The specified path is invalid or not accessible. Path could contain invalid characters, point to an existing folder or a location outside of the user folder."""

    code = "FilePathInvalid"
    status = 400
    message_template = "File path is invalid: {reason}"


@_register
class FileOperationUnsupported(OpenEOError):
    """The file operation is not supported for the specified path."""

    code = "FileOperationUnsupported"
    status = 400
    message_template = "The file operation is not supported for the specified path."


@_register
class FolderOperationUnsupported(OpenEOError):
    """The specified path is a folder and the operation is only supported for files."""

    code = "FolderOperationUnsupported"
    status = 400
    message_template = "Operation is only supported for files, not folders."


@_register
class ContentTypeInvalid(OpenEOError):
    """The specified media (MIME) type used in the Content-Type header is not allowed."""

    code = "ContentTypeInvalid"
    status = 400
    message_template = "The media type is not supported. Allowed: {types}"


@_register
class FileTypeInvalid(OpenEOError):
    """File format or file extension is not allowed."""

    code = "FileTypeInvalid"
    status = 400
    message_template = "File format {type} not allowed. Allowed file formats: {types}"


@_register
class FileSizeExceeded(OpenEOError):
    """File exceeds allowed maximum file size."""

    code = "FileSizeExceeded"
    status = 400
    message_template = "File size it too large. Maximum file size: {size}"


@_register
class FileContentInvalid(OpenEOError):
    """The content of the file is invalid."""

    code = "FileContentInvalid"
    status = 400
    message_template = "File content is invalid."


@_register
class FileLocked(OpenEOError):
    """The file is locked by a running job or another process."""

    code = "FileLocked"
    status = 400
    message_template = "File '{file}' is locked by another process."


@_register
class ProcessGraphNotFound(OpenEOError):
    """The requested user-defined process does not exist. To be used for all endpoints starting with `/process_graphs`."""

    code = "ProcessGraphNotFound"
    status = 404
    message_template = "User-defined process '{identifier}' does not exist."


@_register
class ProcessInvalid(OpenEOError):
    """The process given is invalid, which ususlly means that the process metadata is invalid."""

    code = "ProcessInvalid"
    status = 400
    message_template = "Invalid process specified."


@_register
class ProcessGraphMissing(OpenEOError):
    """The process doesn't contain a process graph. For jobs, services, and sync. processing the parameter `process` must contain a `process_graph`."""

    code = "ProcessGraphMissing"
    status = 400
    message_template = "Invalid process specified. It doesn't contain a process graph."


@_register
class ProcessGraphInvalid(OpenEOError):
    """The process doesn't contain a valid process graph, which means it doesn't comply to the general structure / schema."""

    code = "ProcessGraphInvalid"
    status = 400
    message_template = "Invalid process graph specified."


@_register
class PredefinedProcessExists(OpenEOError):
    """If a user wants to store a user-defined process with the id of a predefined process."""

    code = "PredefinedProcessExists"
    status = 400
    message_template = "A predefined process with the given identifier exists."


@_register
class ProcessGraphComplexity(OpenEOError):
    """The process graph is too complex for synchronous processing and will likely time out. Please use a batch job instead."""

    code = "ProcessGraphComplexity"
    status = 400
    message_template = (
        "The process is too complex for for synchronous processing. Please use a batch job instead."
    )


@_register
class ProcessUnsupported(OpenEOError):
    """A process (predefined or user-defined) with the specified identifier is not available. To be used when validating or executing process graphs."""

    code = "ProcessUnsupported"
    status = 400
    message_template = (
        "Process with identifier '{process}' is not available in namespace '{namespace}'."
    )


@_register
class ProcessParameterUnsupported(OpenEOError):
    """Process '{process}' does not support parameter '{parameter}'."""

    code = "ProcessParameterUnsupported"
    status = 400
    message_template = "Process '{process}' does not support parameter '{parameter}'."


@_register
class ProcessParameterInvalid(OpenEOError):
    """The value passed for parameter '{parameter}' in process '{process}' is invalid: {reason}"""

    code = "ProcessParameterInvalid"
    status = 400
    message_template = (
        "The value passed for parameter '{parameter}' in process '{process}' is invalid: {reason}"
    )


@_register
class ProcessParameterRequired(OpenEOError):
    """Process '{process}' parameter '{parameter}' is required."""

    code = "ProcessParameterRequired"
    status = 400
    message_template = "Process '{process}' parameter '{parameter}' is required."


@_register
class JobNotFound(OpenEOError):
    """The requested job does not exist."""

    code = "JobNotFound"
    status = 404
    message_template = "The batch job '{identifier}' does not exist."


@_register
class JobLocked(OpenEOError):
    """The job is currently locked due to a running batch computation and can't be modified meanwhile."""

    code = "JobLocked"
    status = 400
    message_template = "Batch job is locked due to a queued or running batch computation."


@_register
class JobNotFinished(OpenEOError):
    """Batch job has not finished computing the results yet. Please try again later or contact our support."""

    code = "JobNotFinished"
    status = 400
    message_template = "Batch job has not finished computing the results yet. Please try again later or contact our support."


@_register
class JobNotStarted(OpenEOError):
    """Job has not been queued or started yet or was canceled and not restarted by the user."""

    code = "JobNotStarted"
    status = 400
    message_template = "Batch job must be started first."


@_register
class ResultLinkExpired(OpenEOError):
    """The signed URLs for batch job results have expired. Please send a request to `GET /jobs/{job_id}/results` to refresh the links."""

    code = "ResultLinkExpired"
    status = 410
    message_template = (
        "The link to the batch job result has expired. Please request the results again."
    )


@_register
class PaymentRequired(OpenEOError):
    """The budget required to fulfil the request is insufficient."""

    code = "PaymentRequired"
    status = 402
    message_template = (
        "The budget required to fulfil the request is not sufficient. A payment is required first."
    )


@_register
class BillingPlanInvalid(OpenEOError):
    """The billing plan is not on the list of available plans."""

    code = "BillingPlanInvalid"
    status = 400
    message_template = "The billing plan is invalid."


@_register
class BillingPlanMissing(OpenEOError):
    """No billing plan has been specified by the user and the billing plan can't be determined unambiguously."""

    code = "BillingPlanMissing"
    status = 400
    message_template = "A billing plan must be specified."


@_register
class AuthenticationRequired(OpenEOError):
    """The client did not provide any authentication details for a resource requiring authentication or the provided authentication details are not correct."""

    code = "AuthenticationRequired"
    status = 401
    message_template = "Unauthorized."


@_register
class AuthenticationSchemeInvalid(OpenEOError):
    """Invalid authentication scheme (e.g. Bearer)."""

    code = "AuthenticationSchemeInvalid"
    status = 403
    message_template = "Authentication method not supported."


@_register
class TokenInvalid(OpenEOError):
    """Authorization token has expired or is invalid. Please authenticate again."""

    code = "TokenInvalid"
    status = 403
    message_template = "Authorization token has expired or is invalid. Please authenticate again."


@_register
class CredentialsInvalid(OpenEOError):
    """Credentials are not correct."""

    code = "CredentialsInvalid"
    status = 403
    message_template = "Credentials are not correct."


@_register
class PermissionsInsufficient(OpenEOError):
    """Forbidden. The client did provided correct authentication details, but the privileges/permissions of the provided credentials do not allow to request the resource."""

    code = "PermissionsInsufficient"
    status = 403
    message_template = "Forbidden. The permissions of the authenticated account do not allow to request the requested resource."


@_register
class ServiceNotFound(OpenEOError):
    """The requested secondary service does not exist."""

    code = "ServiceNotFound"
    status = 404
    message_template = "Service '{identifier}' does not exist."


@_register
class ServiceUnsupported(OpenEOError):
    """Service type '{type}' is not supported."""

    code = "ServiceUnsupported"
    status = 400
    message_template = "Service type '{type}' is not supported."


@_register
class ServiceConfigUnsupported(OpenEOError):
    """Refers to the secondary service `configuration` object."""

    code = "ServiceConfigUnsupported"
    status = 400
    message_template = "Service parameter '{parameter}' is not supported."


@_register
class ServiceConfigInvalid(OpenEOError):
    """Refers to the secondary service `configuration` object."""

    code = "ServiceConfigInvalid"
    status = 400
    message_template = (
        "The value passed for the service parameter '{parameter}' is invalid: {reason}"
    )


@_register
class ServiceConfigRequired(OpenEOError):
    """Refers to the secondary service `configuration` object."""

    code = "ServiceConfigRequired"
    status = 400
    message_template = "Service parameter '{parameter}' is required."


@_register
class ServiceUnavailable(OpenEOError):
    """A service of the back-end, or a server it needs, is not reachable right now."""

    code = "ServiceUnavailable"
    status = 503
    message_template = "Service {service} is not available at the moment. Please try again later."
    headers = {"Retry-After": "5"}


@_register
class UpstreamUnavailable(OpenEOError):
    """The external data provider behind a collection (a registered STAC API, its asset
    storage or its URL signing) failed or did not answer, after retries."""

    code = "UpstreamUnavailable"
    status = 502
    message_template = "The data provider {upstream} of collection '{collection}' failed: {reason}"
    # No Retry-After: the catalog has retried already, and clients that retry a 502 (the
    # Python client does, for GET) would wait that long each time before the error.
    headers: dict[str, str] = {}


@_register
class TooManyRequests(OpenEOError):
    """Too many requests (e.g. failed logins) in a short time; retry after `Retry-After`,
    which is `seconds` when given (the delay the message names)."""

    code = "TooManyRequests"
    status = 429
    message_template = "Too many requests. Please try again in {seconds} seconds."
    headers = {"Retry-After": "5"}

    def __init__(self, message: str | None = None, **params: Any) -> None:
        super().__init__(message, **params)
        if "seconds" in params:
            self.headers = {"Retry-After": str(params["seconds"])}


@_register
class PayloadTooLarge(OpenEOError):
    """The request body exceeds the back-end's size limit."""

    code = "PayloadTooLarge"
    status = 413
    message_template = "The request body is too large. Maximum size: {size} bytes."


@_register
class BadRequest(OpenEOError):
    """The request is malformed (invalid JSON, wrong parameter types, ...)."""

    code = "BadRequest"
    status = 400
    message_template = "Invalid request: {reason}"


@_register
class RangeNotSatisfiable(OpenEOError):
    """A `Range` request for bytes a file does not have (`GET /files/{path}`)."""

    code = "RangeNotSatisfiable"
    status = 416
    message_template = "The requested range is not satisfiable: the file has {size} bytes."


@_register
class JobFailed(OpenEOError):
    """`GET /jobs/{job_id}/results` of a job whose status is `error` (HTTP 424): the
    message is the job's last error; the gateway renders it as a log entry."""

    code = "JobFailed"
    status = 424
    message_template = "The batch job failed: {reason}"


class ProcessException(OpenEOError):
    """An exception a process specification declares (its `exceptions`, e.g. `load_collection`'s
    `NoDataAvailable`): the spec's name is the `code` and its message (that of `process`'s
    specification when it declares the exception, else `message_template`) the start of the
    message, followed by the process and parameter when given and what happened (`reason`).
    A client error (400), as the specifications give no other status; the API-level codes
    above stay for the rest."""

    status = 400

    def __init__(
        self,
        message: str | None = None,
        *,
        reason: str = "",
        process: str | None = None,
        parameter: str | None = None,
        **params: Any,
    ) -> None:
        if message is None:
            template = _declared_message(process, self.code) or self.message_template
            where = "" if process is None else f"Process '{process}'"
            if where and parameter is not None:
                where += f", parameter '{parameter}'"
            if where:
                where += f": {reason}" if reason else "."
            message = f"{template} {where or reason}".strip()
        super().__init__(message, reason=reason, process=process, parameter=parameter, **params)


def _declared_message(process: str | None, code: str) -> str | None:
    """The message the specification of `process` declares for the exception `code` (two
    processes may word the same exception differently), or None."""
    if process is None:
        return None
    # Imported here: a service reads the process specifications when a process fails, not
    # whenever it imports its errors.
    from eoplex_common.process_specs import process_spec

    declared = ((process_spec(process) or {}).get("exceptions") or {}).get(code)
    return str(declared["message"]) if declared else None


@_register
class NoDataAvailable(ProcessException):
    """`load_collection`, `load_stac`: no data in the requested extents and properties."""

    code = "NoDataAvailable"
    message_template = "There is no data available for the given extents."


@_register
class DimensionNotAvailable(ProcessException):
    """A process names a dimension the data cube does not have (`reduce_dimension`,
    `filter_temporal`, `rename_dimension`, ...)."""

    code = "DimensionNotAvailable"
    message_template = "A dimension with the specified name does not exist."


@_register
class TooManyDimensions(ProcessException):
    """`aggregate_temporal`, `aggregate_temporal_period`: the cube has several temporal
    dimensions and `dimension` does not name one."""

    code = "TooManyDimensions"
    message_template = (
        "The data cube contains multiple temporal dimensions. "
        "The parameter `dimension` must be specified."
    )


@_register
class TemporalExtentEmpty(ProcessException):
    """`filter_temporal`, `aggregate_temporal`, `load_collection`, `load_stac`: an interval
    whose end is not later than its start."""

    code = "TemporalExtentEmpty"
    message_template = (
        "The temporal extent is empty. The second instant in time must always be "
        "greater/later than the first instant in time."
    )


@_register
class DimensionExists(ProcessException):
    """`add_dimension`, `rename_dimension`: the new dimension's name is taken."""

    code = "DimensionExists"
    message_template = "A dimension with the specified name already exists."


@_register
class LabelNotAvailable(ProcessException):
    """`rename_labels`: a `source` label the dimension does not have."""

    code = "LabelNotAvailable"
    message_template = "A label with the specified name does not exist."


@_register
class LabelsNotEnumerated(ProcessException):
    """`rename_labels` without `source`: the dimension's labels are not 0, 1, 2, ..."""

    code = "LabelsNotEnumerated"
    message_template = "The dimension labels are not enumerated."


@_register
class LabelMismatch(ProcessException):
    """`rename_labels`: `source` and `target` of different lengths."""

    code = "LabelMismatch"
    message_template = "The number of labels in the parameters `source` and `target` don't match."


@_register
class LabelExists(ProcessException):
    """`rename_labels`, `array_append`: a label that would be there twice."""

    code = "LabelExists"
    message_template = "A label with the specified name exists."


@_register
class ArrayElementNotAvailable(ProcessException):
    """`array_element`, `array_modify`: no element at the index or label."""

    code = "ArrayElementNotAvailable"
    message_template = "The array has no element with the specified index or label."


@_register
class BandExists(ProcessException):
    """`ndvi`: a `target_band` the cube has already."""

    code = "BandExists"
    message_template = "A band with the specified target name exists."


@_register
class DimensionAmbiguous(ProcessException):
    """`ndvi`: no dimension of type bands, or several (the spec's message verbatim)."""

    code = "DimensionAmbiguous"
    message_template = "dimension of type `bands` is not available or is ambiguous.."


@_register
class NirBandAmbiguous(ProcessException):
    """`ndvi`: a `nir` that names no band of the cube, by name or common name."""

    code = "NirBandAmbiguous"
    message_template = "The NIR band can't be resolved, please specify the specific NIR band name."


@_register
class RedBandAmbiguous(ProcessException):
    """`ndvi`: a `red` that names no band of the cube, by name or common name."""

    code = "RedBandAmbiguous"
    message_template = "The red band can't be resolved, please specify the specific red band name."


@_register
class TargetDimensionExists(ProcessException):
    """`aggregate_spatial`, `flatten_dimensions`, `unflatten_dimension`: the target
    dimension's name is taken."""

    code = "TargetDimensionExists"
    message_template = "A dimension with the specified target dimension name already exists."


@_register
class DimensionMismatch(ProcessException):
    """`resample_cube_temporal`: the cubes share no temporal dimension to resample along."""

    code = "DimensionMismatch"
    message_template = "The temporal dimensions for resampling don't match."


@_register
class DistinctDimensionLabelsRequired(ProcessException):
    """`aggregate_temporal` without `labels`: intervals that start at the same instant."""

    code = "DistinctDimensionLabelsRequired"
    message_template = (
        "The dimension labels have duplicate values. Distinct labels must be specified."
    )


@_register
class DimensionLabelCountMismatch(ProcessException):
    """`drop_dimension`: a dimension with more than one label."""

    code = "DimensionLabelCountMismatch"
    message_template = "The number of dimension labels exceeds one, which requires a reducer."


@_register
class OverlapResolverMissing(ProcessException):
    """`merge_cubes`: the cubes overlap and no `overlap_resolver` is given."""

    code = "OverlapResolverMissing"
    message_template = "Overlapping data cubes, but no overlap resolver has been specified."


@_register
class IncompatibleDataCubes(ProcessException):
    """`mask`: a mask whose dimensions or labels do not fit the data."""

    code = "IncompatibleDataCubes"
    message_template = (
        "The data cube and the mask are incompatible, e.g. because of different dimensions "
        "or labels."
    )


@_register
class DimensionMissing(ProcessException):
    """`filter_bands`: the cube has no bands dimension."""

    code = "DimensionMissing"
    message_template = "A band dimension is missing."


@_register
class BandFilterParameterMissing(ProcessException):
    """`filter_bands` with neither `bands` nor `wavelengths`."""

    code = "BandFilterParameterMissing"
    message_template = (
        "The process `filter_bands` requires any of the parameters `bands`, `common_names` "
        "or `wavelengths` to be set."
    )


@_register
class ArrayElementParameterMissing(ProcessException):
    """`array_element` with neither `index` nor `label`."""

    code = "ArrayElementParameterMissing"
    message_template = (
        "The process `array_element` requires either the `index` or `labels` parameter to be set."
    )


@_register
class ArrayElementParameterConflict(ProcessException):
    """`array_element` with both `index` and `label`."""

    code = "ArrayElementParameterConflict"
    message_template = (
        "The process `array_element` only allows that either the `index` or the `labels` "
        "parameter is set."
    )


@_register
class ArrayNotLabeled(ProcessException):
    """`array_element`, `array_append`: a `label` for an array without labels."""

    code = "ArrayNotLabeled"
    message_template = "A label can't be provided as the given array is not labeled."


@_register
class ArrayLabelConflict(ProcessException):
    """`array_concat`, `array_modify`: a label in both arrays."""

    code = "ArrayLabelConflict"
    message_template = (
        "At least one label exists in both arrays and the conflict must be resolved before."
    )


@_register
class ArrayLengthMismatch(ProcessException):
    """`array_create_labeled`: as many labels as values are needed."""

    code = "ArrayLengthMismatch"
    message_template = "The number of values in the parameters `data` and `labels` don't match."


@_register
class QuantilesParameterMissing(ProcessException):
    """`quantiles` with neither `probabilities` nor `q`."""

    code = "QuantilesParameterMissing"
    message_template = (
        "The process `quantiles` requires either the `probabilities` or `q` parameter to be set."
    )


@_register
class QuantilesParameterConflict(ProcessException):
    """`quantiles` with both `probabilities` and `q`."""

    code = "QuantilesParameterConflict"
    message_template = (
        "The process `quantiles` only allows that either the `probabilities` or the `q` "
        "parameter is set."
    )


@_register
class AscendingProbabilitiesRequired(ProcessException):
    """`quantiles`: `probabilities` not in ascending order."""

    code = "AscendingProbabilitiesRequired"
    message_template = (
        "The values passed for parameter `probabilities` must be sorted in ascending order."
    )


@_register
class FormatUnsuitable(ProcessException):
    """`save_result`, `load_uploaded_files`: data the format cannot hold, or files that are
    not in the format (each process words the message its own way)."""

    code = "FormatUnsuitable"
    message_template = "Data can't be transformed into the requested output format."


@_register
class KernelDimensionsUneven(ProcessException):
    """`apply_kernel`: a kernel with an even number of rows or columns."""

    code = "KernelDimensionsUneven"
    message_template = "Each dimension of the kernel must have an uneven number of elements."


@_register
class DataCubePropertiesImmutable(ProcessException):
    """`apply_neighborhood`: a child process that changed the dimensions of its cube."""

    code = "DataCubePropertiesImmutable"
    message_template = (
        "The dimension properties (name, type, labels, reference system and resolution) "
        "must remain unchanged."
    )


@_register
class GeometriesOverlap(ProcessException):
    """`apply_polygon`: overlapping geometries."""

    code = "GeometriesOverlap"
    message_template = (
        "Geometries are not allowed to overlap to avoid that pixel values are processed "
        "multiple times."
    )


@_register
class CountMismatch(ProcessException):
    """`vector_to_random_points`: fewer points in total than geometries."""

    code = "CountMismatch"
    message_template = "The total number of points is lower than the number of geometries."


@_register
class UnitMismatch(ProcessException):
    """`vector_buffer`, `vector_to_regular_points`: a distance in metres on geometries whose
    reference system is not in metres."""

    code = "UnitMismatch"
    message_template = (
        "The unit of the spatial reference system is not meters, but the given distance is "
        "in meters."
    )


@_register
class InvalidRuntime(ProcessException):
    """`run_udf`: a runtime `GET /udf_runtimes` does not list."""

    code = "InvalidRuntime"
    message_template = "The specified UDF runtime is not supported."


@_register
class InvalidVersion(ProcessException):
    """`run_udf`: a version of the runtime `GET /udf_runtimes` does not list."""

    code = "InvalidVersion"
    message_template = "The specified UDF runtime version is not supported."


@_register
class MinMaxSwapped(ProcessException):
    """`clip`: `min` greater than `max`."""

    code = "MinMaxSwapped"
    message_template = "The minimum value should be lower than or equal to the maximum value."
