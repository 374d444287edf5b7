"""`eoplex admin collections add-stac-api`: its options, their checks and the request they make.

A collection backed by an external STAC API is registered with the data-discovery service
(`RegisterStacApiCollection`), which fetches and refreshes its document and searches its
items upstream. Credentials for `s3://` assets are read here from `--credentials-file`
and sent once with the registration; they are never printed (nor shown by `repr`).
"""

import argparse
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2

BANDS_FROM = ("raster:bands", "eo:bands")
SIGNING_SCHEMES = ("planetary-computer",)
MOSAIC_ORDERS = ("least-cloudy-first", "newest-first")
S3_ACCESS = ("anonymous", "credentials", "requester-pays")
CREDENTIAL_FIELDS = ("access_key_id", "secret_access_key", "session_token")
SOURCE_COLUMNS = ("id", "kind", "title", "upstream", "refreshed", "refresh_error")

Check = Callable[[argparse.Namespace], None]


class CheckedArgumentParser(argparse.ArgumentParser):
    """A parser that also runs its command's check across options.

    The check is the command's default `check_arguments`; it raises `ValueError` with the
    problem, reported as any usage error (the command's usage, the message, exit status 2).
    """

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extras = super().parse_known_args(args, namespace)
        check: Check | None = getattr(parsed, "check_arguments", None)
        if check is not None:
            try:
                check(parsed)
            except ValueError as error:
                self.error(str(error))
        return parsed, extras


@dataclass(frozen=True, repr=False)
class UpstreamCredentials:
    """The S3 credentials of `--credentials-file`, as the JSON the service takes."""

    json: str

    def __repr__(self) -> str:
        return "UpstreamCredentials(<hidden>)"


def landing_page_url(value: str) -> str:
    """`URL`: the STAC API's landing page, http(s) with a host."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise argparse.ArgumentTypeError(f"{value!r} is not an http(s) URL with a host")
    return value


def band_mapping(value: str) -> tuple[str, str]:
    """`--band ASSET_KEY=NAME`: the band name of an upstream asset key."""
    asset_key, separator, name = value.partition("=")
    if not separator or not asset_key.strip() or not name.strip():
        raise argparse.ArgumentTypeError(f"{value!r} is not ASSET_KEY=NAME")
    return asset_key.strip(), name.strip()


def json_object(value: str) -> dict[str, Any]:
    """`--dimensions JSON` or `@FILE`: a JSON object of objects (openEO `cube:dimensions`)."""
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).read_text()
        except OSError as error:
            raise argparse.ArgumentTypeError(f"cannot read {value[1:]}: {error.strerror}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise argparse.ArgumentTypeError(f"not JSON: {error}") from None
    if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
        raise argparse.ArgumentTypeError(
            'not a JSON object of dimensions, e.g. {"x": {...}, "y": {...}}'
        )
    return document


def s3_endpoint(value: str) -> str:
    """`--s3-endpoint HOST[:PORT]` (reached over HTTPS) or `http(s)://HOST[:PORT]`."""
    try:
        parts = urlsplit(value if "//" in value else f"//{value}")
        valid = parts.scheme in ("", "http", "https") and parts.port != 0
    except ValueError:
        valid = False
    if not valid or not parts.hostname or parts.path.strip("/") or parts.query or parts.username:
        raise argparse.ArgumentTypeError(f"{value!r} is not HOST[:PORT] or http(s)://HOST[:PORT]")
    return value


def credentials_file(value: str) -> UpstreamCredentials:
    """`--credentials-file PATH`: JSON {access_key_id, secret_access_key, session_token?}.

    Its problems are reported without its content.
    """
    try:
        document = json.loads(Path(value).read_text())
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {value}: {error.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise argparse.ArgumentTypeError(f"{value} is not JSON") from None
    wanted = "a JSON object with the strings access_key_id, secret_access_key (session_token)"
    if not isinstance(document, dict):
        raise argparse.ArgumentTypeError(f"{value} is not {wanted}")
    unknown = sorted(set(document) - set(CREDENTIAL_FIELDS))
    missing = [name for name in CREDENTIAL_FIELDS[:2] if not document.get(name)]
    mistyped = [name for name, field in document.items() if not isinstance(field, str)]
    if unknown or missing or mistyped:
        problems = [
            f"{label}: {', '.join(names)}"
            for label, names in (
                ("unknown", unknown),
                ("missing", missing),
                ("not strings", mistyped),
            )
            if names
        ]
        raise argparse.ArgumentTypeError(f"{value} is not {wanted} ({'; '.join(problems)})")
    return UpstreamCredentials(json.dumps(document))


def check_stac_api_options(args: argparse.Namespace) -> None:
    """The rules across options; `ValueError` names the broken one."""
    if args.signing_url and not args.signing:
        raise ValueError("--signing-url needs --signing")
    has_credentials = args.credentials_file is not None or args.credentials_secret is not None
    if args.s3_access == "anonymous" and has_credentials:
        raise ValueError("--s3-access anonymous takes no --credentials-file/--credentials-secret")
    if args.s3_access in ("credentials", "requester-pays") and not has_credentials:
        # Requester-pays bills the requester: an anonymous request is refused upstream.
        raise ValueError(
            f"--s3-access {args.s3_access} needs --credentials-file or --credentials-secret"
        )
    keys = [asset_key for asset_key, _ in args.band or ()]
    names = [name for _, name in args.band or ()]
    for label, values in (("asset key", keys), ("band name", names)):
        repeated = sorted({value for value in values if values.count(value) > 1})
        if repeated:
            raise ValueError(f"--band: {label} given twice: {', '.join(repeated)}")


def add_stac_api_options(parser: argparse.ArgumentParser) -> None:
    """The arguments of `add-stac-api` and their checks."""
    parser.add_argument(
        "url", type=landing_page_url, metavar="URL", help="the STAC API's landing page"
    )
    parser.add_argument(
        "upstream_collection", metavar="UPSTREAM_COLLECTION", help="the collection id upstream"
    )
    parser.add_argument("--id", help="our collection id (default: the upstream id)")
    parser.add_argument(
        "--bands-from",
        choices=BANDS_FROM,
        help="the item_assets metadata that defines bands (default: raster:bands)",
    )
    parser.add_argument("--signing", choices=SIGNING_SCHEMES, help="sign asset URLs")
    parser.add_argument(
        "--signing-url",
        type=landing_page_url,
        metavar="URL",
        help="the SAS token API (default: Microsoft's)",
    )
    parser.add_argument("--title", help="instead of the upstream title")
    parser.add_argument("--description", help="instead of the upstream description")
    parser.add_argument(
        "--band",
        action="append",
        type=band_mapping,
        metavar="ASSET_KEY=NAME",
        help="name the band of an upstream asset (repeatable; default: the asset key)",
    )
    parser.add_argument(
        "--dimensions",
        type=json_object,
        metavar="JSON|@FILE",
        help="cube:dimensions to declare, e.g. a target grid: x/y with reference_system, "
        "step and extent",
    )
    parser.add_argument(
        "--mosaic",
        choices=MOSAIC_ORDERS,
        help="order of the items of one day (default: least-cloudy-first)",
    )
    parser.add_argument(
        "--s3-access",
        choices=S3_ACCESS,
        help="how s3:// assets are read (default: anonymous, or credentials when given)",
    )
    parser.add_argument(
        "--s3-endpoint",
        type=s3_endpoint,
        metavar="HOST[:PORT]",
        help="an S3-compatible server instead of AWS (HTTPS; http://HOST[:PORT] for plain HTTP)",
    )
    parser.add_argument("--s3-region", metavar="REGION", help="default: us-west-2 on AWS")
    credentials = parser.add_mutually_exclusive_group()
    credentials.add_argument(
        "--credentials-file",
        type=credentials_file,
        metavar="PATH",
        help="JSON {access_key_id, secret_access_key, session_token?}, sent once, stored by "
        "the catalog, never shown",
    )
    credentials.add_argument(
        "--credentials-secret",
        metavar="NAME",
        help="a file of the catalog's credentials directory (a Kubernetes Secret's key)",
    )
    parser.set_defaults(check_arguments=check_stac_api_options)


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    """The operator's overrides of the upstream document, only those given."""
    given: dict[str, Any] = {
        "title": args.title,
        "description": args.description,
        "bands": dict(args.band) if args.band else None,
        "cube:dimensions": args.dimensions,
        "mosaic": args.mosaic,
    }
    return {name: value for name, value in given.items() if value is not None}


def register_request(args: argparse.Namespace) -> data_discovery_pb2.RegisterStacApiRequest:
    """The `RegisterStacApiCollection` request of the parsed `add-stac-api` options."""
    has_credentials = args.credentials_file is not None or args.credentials_secret is not None
    s3_access = args.s3_access or ("credentials" if has_credentials else "")
    replaced = overrides(args)
    return data_discovery_pb2.RegisterStacApiRequest(
        url=args.url,
        upstream_collection=args.upstream_collection,
        collection_id=args.id or "",
        bands_from=args.bands_from or "",
        signing=args.signing or "",
        signing_url=args.signing_url or "",
        overrides_json=json.dumps(replaced) if replaced else "",
        s3_access=s3_access,
        s3_endpoint=args.s3_endpoint or "",
        s3_region=args.s3_region or "",
        credentials_json=args.credentials_file.json if args.credentials_file else "",
        credentials_secret=args.credentials_secret or "",
    )


def source_record(source: data_discovery_pb2.CollectionSource) -> dict[str, Any]:
    """A collection's source as printed by `collections list`, `add-stac-api` and `refresh`."""
    return {
        "id": source.collection_id,
        "kind": source.kind,
        "title": source.title,
        "upstream": source.upstream,
        "refreshed": source.refreshed,
        "refresh_error": source.refresh_error,
    }
