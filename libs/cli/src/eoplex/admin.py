"""`eoplex admin ...`: operator commands on users, tenants (auth) and collections (data-discovery).

The auth service is reached at `OPENEO_AUTH_ADDRESS`, the data-discovery service at
`OPENEO_DATA_DISCOVERY_ADDRESS` and S3 through the `OPENEO_S3_*` variables; those not set
come from the local stack `eoplex run` started in `OPENEO_STATE_DIR` (`.state` by
default, `eoplex.local_env`), else from the defaults (127.0.0.1:50061, ...). Every
failure is printed as `error: <openEO code>: <message>` (or `error: <file>: <problem>`
for input that cannot be ingested) and exits with status 1.
"""

import argparse
import asyncio
import getpass
import json
import os
import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

from eoplex.local_env import local_stack_environment, state_dir_of
from eoplex.stac_api import (
    SOURCE_COLUMNS,
    CheckedArgumentParser,
    add_stac_api_options,
    register_request,
    source_record,
)
from eoplex_common.errors import OpenEOError, ServiceUnavailable
from eoplex_common.rpc import open_channel
from eoplex_common.s3 import connect_s3
from eoplex_common.settings import InfrastructureSettings, ServiceAddresses
from eoplex_ingest.errors import IngestError
from eoplex_ingest.folder import NamingRules
from eoplex_ingest.ingest import CollectionDocuments, FolderOptions, ingest_folder
from eoplex_ingest.register import register_collection
from eoplex_ingest.stac import CollectionMetadata
from eoplex_ingest.static import read_static_collection
from eoplex_ingest.storage import AssetStore, LocalReference, S3AssetStore
from eoplex_proto.openeo.auth.v1 import auth_pb2, auth_pb2_grpc
from eoplex_proto.openeo.data_discovery.v1 import data_discovery_pb2, data_discovery_pb2_grpc

RPC_TIMEOUT_SECONDS = 10.0
# Registering or refreshing a stac-api collection waits for the upstream, whose requests
# the catalog retries with backoff (OPENEO_DATA_DISCOVERY_UPSTREAM_RETRIES, _TIMEOUT_SECONDS).
UPSTREAM_RPC_TIMEOUT_SECONDS = 300.0
QUOTA_FIELDS = ("max_concurrent_jobs", "max_storage_bytes", "max_sync_pixels")
USER_COLUMNS = ("name", "tenant_id", "roles", "disabled", "identity", "user_id", "created")
TENANT_COLUMNS = ("tenant_id", "title", *QUOTA_FIELDS)
INGEST_COLUMNS = ("id", "items", "title")

Stub: TypeAlias = auth_pb2_grpc.AuthAdminServiceStub
DataDiscoveryStub: TypeAlias = data_discovery_pb2_grpc.DataDiscoveryServiceStub


@dataclass
class Outcome:
    """What a command prints: records as a table (or JSON) and, maybe, a generated password."""

    records: list[dict[str, Any]]
    columns: tuple[str, ...]
    generated_password: str | None = None
    single: bool = True


Command = Callable[[Any, argparse.Namespace], Awaitable[Outcome]]


def user_record(user: auth_pb2.User) -> dict[str, Any]:
    """A user as printed."""
    return {
        "name": user.name,
        "tenant_id": user.tenant_id,
        "roles": list(user.roles),
        "disabled": user.disabled,
        "identity": user.identity,
        "user_id": user.user_id,
        "created": user.created,
    }


def tenant_record(tenant: auth_pb2.Tenant) -> dict[str, Any]:
    """A tenant as printed, its quota flattened (0 = unlimited)."""
    quota = {name: getattr(tenant.quota, name) for name in QUOTA_FIELDS}
    return {"tenant_id": tenant.tenant_id, "title": tenant.title, **quota}


def render_table(records: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """Records as aligned text columns with an upper-case header."""

    def cell(value: Any) -> str:
        return ",".join(value) if isinstance(value, list) else str(value)

    rows = [[column.upper() for column in columns]]
    rows += [[cell(record[column]) for column in columns] for record in records]
    widths = [max(len(row[index]) for row in rows) for index in range(len(columns))]
    lines = [
        "  ".join(value.ljust(width) for value, width in zip(row, widths, strict=True))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def read_password(args: argparse.Namespace) -> tuple[str, str | None]:
    """The password from --password, generated (--generate-password), a prompt, or stdin.

    Returns the password and, if it was generated, the same password to print.
    """
    if args.password is not None:
        return args.password, None
    if args.generate_password:
        generated = secrets.token_urlsafe(15)
        return generated, generated
    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            raise SystemExit("error: the passwords differ")
        return password, None
    return sys.stdin.readline().rstrip("\r\n"), None


def quota_from_args(args: argparse.Namespace, current: dict[str, int]) -> auth_pb2.TenantQuota:
    """The quota options given on the command line, the others taken from `current`."""
    values = {name: getattr(args, name) for name in QUOTA_FIELDS}
    return auth_pb2.TenantQuota(
        **{name: current[name] if value is None else value for name, value in values.items()}
    )


async def users_add(stub: Stub, args: argparse.Namespace) -> Outcome:
    """`admin users add NAME --tenant T`: a new basic-auth user."""
    password, generated = read_password(args)
    request = auth_pb2.AddUserRequest(
        name=args.name, password=password, tenant_id=args.tenant, roles=args.role or ["user"]
    )
    user = await stub.AddUser(request)
    return Outcome([user_record(user)], USER_COLUMNS, generated_password=generated)


async def users_list(stub: Stub, args: argparse.Namespace) -> Outcome:
    """`admin users list [--tenant T]`."""
    response = await stub.ListUsers(auth_pb2.ListUsersRequest(tenant_id=args.tenant or ""))
    return Outcome([user_record(user) for user in response.users], USER_COLUMNS, single=False)


async def users_disable(stub: Stub, args: argparse.Namespace) -> Outcome:
    """`admin users disable NAME`: also revokes the user's tokens."""
    user = await stub.DisableUser(auth_pb2.DisableUserRequest(name=args.name))
    return Outcome([user_record(user)], USER_COLUMNS)


async def users_set_password(stub: Stub, args: argparse.Namespace) -> Outcome:
    """`admin users set-password NAME`: also revokes the user's tokens."""
    password, generated = read_password(args)
    user = await stub.SetPassword(auth_pb2.SetPasswordRequest(name=args.name, password=password))
    return Outcome([user_record(user)], USER_COLUMNS, generated_password=generated)


async def tenants_add(stub: Stub, args: argparse.Namespace) -> Outcome:
    """`admin tenants add ID`: a new tenant, with the default quota unless one is given."""
    request = auth_pb2.AddTenantRequest(tenant_id=args.tenant_id, title=args.title or "")
    if any(getattr(args, name) is not None for name in QUOTA_FIELDS):
        # Options not given are unlimited here; without any option the service's defaults apply.
        request.quota.CopyFrom(quota_from_args(args, dict.fromkeys(QUOTA_FIELDS, 0)))
    tenant = await stub.AddTenant(request)
    return Outcome([tenant_record(tenant)], TENANT_COLUMNS)


async def tenants_list(stub: Stub, args: argparse.Namespace) -> Outcome:
    """`admin tenants list`."""
    response = await stub.ListTenants(auth_pb2.ListTenantsRequest())
    records = [tenant_record(tenant) for tenant in response.tenants]
    return Outcome(records, TENANT_COLUMNS, single=False)


async def tenants_set_quota(stub: Stub, args: argparse.Namespace) -> Outcome:
    """`admin tenants set-quota ID`: quota options not given keep their value."""
    response = await stub.ListTenants(auth_pb2.ListTenantsRequest())
    current = next((t for t in response.tenants if t.tenant_id == args.tenant_id), None)
    current_quota = tenant_record(current) if current else dict.fromkeys(QUOTA_FIELDS, 0)
    request = auth_pb2.SetTenantQuotaRequest(
        tenant_id=args.tenant_id, quota=quota_from_args(args, current_quota)
    )
    tenant = await stub.SetTenantQuota(request)
    return Outcome([tenant_record(tenant)], TENANT_COLUMNS)


def collection_record(collection: dict[str, Any]) -> dict[str, Any]:
    """A collection as printed."""
    return {
        "id": collection["id"],
        "title": collection.get("title", ""),
        "license": collection.get("license", ""),
    }


def asset_store(args: argparse.Namespace) -> AssetStore:
    """Local paths with `--reference`, else the S3 bucket of the `OPENEO_S3_*` settings."""
    if args.reference:
        return LocalReference()
    return S3AssetStore(client=connect_s3(InfrastructureSettings()))


def read_collection_source(args: argparse.Namespace) -> CollectionDocuments:
    """The documents to register: a static STAC collection.json, or a folder of GeoTIFFs."""
    source = Path(args.source)
    if source.is_file():
        return read_static_collection(source, collection_id=args.id)
    if not args.id:
        raise IngestError("--id is required to ingest a folder", path=source)
    metadata = CollectionMetadata(
        collection_id=args.id,
        title=args.title or args.id,
        description=args.description or f"Rasters ingested from {source.name}.",
        license=args.license,
        keywords=tuple(args.keyword or ()),
    )
    options = FolderOptions(
        rules=NamingRules(datetime_pattern=args.datetime_pattern, band_pattern=args.band_pattern),
        cog=args.cog,
        reference=args.reference,
    )
    return ingest_folder(source, metadata=metadata, options=options, store=asset_store(args))


async def collections_ingest(stub: DataDiscoveryStub, args: argparse.Namespace) -> Outcome:
    """`admin collections ingest --id ID --from DIR | --from collection.json`: (re)register."""
    documents = read_collection_source(args)
    items = await register_collection(stub, documents.collection, documents.items)
    record = {**collection_record(documents.collection), "items": items}
    return Outcome([record], INGEST_COLUMNS)


async def collections_remove(stub: DataDiscoveryStub, args: argparse.Namespace) -> Outcome:
    """`admin collections remove --id ID`: the collection and its items leave the catalog."""
    await stub.DeleteCollection(data_discovery_pb2.DeleteCollectionRequest(collection_id=args.id))
    return Outcome([{"id": args.id}], ("id",))


async def collections_add_stac_api(stub: DataDiscoveryStub, args: argparse.Namespace) -> Outcome:
    """`admin collections add-stac-api URL UPSTREAM_COLLECTION`: register (or replace) a
    collection whose items stay in an external STAC API."""
    source = await stub.RegisterStacApiCollection(
        register_request(args), timeout=UPSTREAM_RPC_TIMEOUT_SECONDS
    )
    return Outcome([source_record(source)], SOURCE_COLUMNS)


async def collections_refresh(stub: DataDiscoveryStub, args: argparse.Namespace) -> Outcome:
    """`admin collections refresh ID`: fetch a stac-api collection's document again now."""
    request = data_discovery_pb2.RefreshCollectionRequest(
        collection_id=args.collection_id or args.id
    )
    source = await stub.RefreshCollection(request, timeout=UPSTREAM_RPC_TIMEOUT_SECONDS)
    return Outcome([source_record(source)], SOURCE_COLUMNS)


async def collections_list(stub: DataDiscoveryStub, args: argparse.Namespace) -> Outcome:
    """`admin collections list`: every collection, where it comes from and when it was last
    refreshed (or ingested)."""
    response = await stub.ListCollectionSources(data_discovery_pb2.ListCollectionSourcesRequest())
    return Outcome([source_record(s) for s in response.sources], SOURCE_COLUMNS, single=False)


def _add_password_options(parser: argparse.ArgumentParser) -> None:
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--password",
        help="the password (visible to other local users in the process list; "
        "without it the password is prompted for, or read from the first line of stdin)",
    )
    source.add_argument(
        "--generate-password", action="store_true", help="generate a password and print it"
    )


def _add_quota_options(parser: argparse.ArgumentParser) -> None:
    for name in QUOTA_FIELDS:
        flag = "--" + name.replace("_", "-")
        parser.add_argument(flag, type=int, metavar="N", help="0 means unlimited")


def _command(
    commands: Any, output: argparse.ArgumentParser, name: str, handler: Any, summary: str
) -> argparse.ArgumentParser:
    """The command `name` of a group: it takes the output options and runs `handler`."""
    parser: argparse.ArgumentParser = commands.add_parser(name, parents=[output], help=summary)
    parser.set_defaults(admin_handler=handler)
    return parser


def _add_users_commands(groups: Any, output: argparse.ArgumentParser) -> None:
    users = groups.add_parser("users", help="basic-auth and OIDC users")
    commands = users.add_subparsers(dest="admin_command", required=True)
    add = _command(commands, output, "add", users_add, "add a basic-auth user")
    add.add_argument("name")
    add.add_argument("--tenant", required=True, help="the user's tenant (must exist)")
    add.add_argument("--role", action="append", choices=["user", "admin"], help="repeatable")
    _add_password_options(add)
    listing = _command(commands, output, "list", users_list, "list users")
    listing.add_argument("--tenant", help="only the users of this tenant")
    disable = _command(
        commands, output, "disable", users_disable, "disable a user and revoke their tokens"
    )
    disable.add_argument("name")
    set_password = _command(
        commands,
        output,
        "set-password",
        users_set_password,
        "set a password and revoke the user's tokens",
    )
    set_password.add_argument("name")
    _add_password_options(set_password)


def _add_tenants_commands(groups: Any, output: argparse.ArgumentParser) -> None:
    tenants = groups.add_parser("tenants", help="tenants and their quotas")
    commands = tenants.add_subparsers(dest="admin_command", required=True)
    add = _command(
        commands, output, "add", tenants_add, "add a tenant (default quotas unless given)"
    )
    add.add_argument("tenant_id")
    add.add_argument("--title")
    _add_quota_options(add)
    _command(commands, output, "list", tenants_list, "list tenants")
    set_quota = _command(
        commands,
        output,
        "set-quota",
        tenants_set_quota,
        "change a tenant's quota (options not given stay)",
    )
    set_quota.add_argument("tenant_id")
    _add_quota_options(set_quota)


def _add_ingest_options(ingest: argparse.ArgumentParser) -> None:
    ingest.add_argument("--id", help="collection id (required for a folder)")
    ingest.add_argument(
        "--from",
        dest="source",
        required=True,
        help="a folder of GeoTIFFs or a STAC collection.json",
    )
    ingest.add_argument("--title")
    ingest.add_argument("--description")
    ingest.add_argument("--license", default="proprietary", help="SPDX id (default: proprietary)")
    ingest.add_argument("--keyword", action="append", help="repeatable")
    ingest.add_argument(
        "--datetime-pattern",
        help=r"regex on file names with a group 'datetime' (e.g. '(?P<datetime>\d{8})') "
        "or groups year/month/day; default: the TIFF DateTime or 'datetime' tag",
    )
    ingest.add_argument(
        "--band-pattern",
        help=r"regex on file names with a group 'band' (e.g. '_(?P<band>B\d\d|SCL)\.tif$'); "
        "default: band descriptions, else band1..N",
    )
    ingest.add_argument(
        "--cog",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="convert to Cloud-Optimized GeoTIFF before uploading (default: yes)",
    )
    ingest.add_argument(
        "--reference", action="store_true", help="keep the files where they are (no upload)"
    )


def _add_collections_commands(groups: Any, output: argparse.ArgumentParser) -> None:
    collections = groups.add_parser("collections", help="collections of the catalog")
    collections.set_defaults(admin_service="data-discovery")
    commands = collections.add_subparsers(
        dest="admin_command", required=True, parser_class=CheckedArgumentParser
    )
    ingest = _command(
        commands,
        output,
        "ingest",
        collections_ingest,
        "register (or replace) a collection from files or STAC",
    )
    _add_ingest_options(ingest)
    remove = _command(commands, output, "remove", collections_remove, "remove a collection")
    remove.add_argument("--id", required=True)
    add_stac_api = _command(
        commands,
        output,
        "add-stac-api",
        collections_add_stac_api,
        "register (or replace) a collection served by an external STAC API",
    )
    add_stac_api_options(add_stac_api)
    refresh = _command(
        commands, output, "refresh", collections_refresh, "fetch a stac-api collection again"
    )
    which = refresh.add_mutually_exclusive_group(required=True)
    which.add_argument("collection_id", nargs="?", metavar="ID", help="the collection id")
    which.add_argument("--id", help="the same as ID")
    _command(commands, output, "list", collections_list, "list collections")


def add_admin_commands(subparsers: Any) -> None:
    """Add `admin users|tenants|collections ...` to the `eoplex` command line."""
    admin = subparsers.add_parser(
        "admin",
        help="manage users and tenants (auth service) and collections (data-discovery service)",
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    admin.set_defaults(admin_service="auth")
    groups = admin.add_subparsers(dest="admin_group", required=True)
    _add_users_commands(groups, output)
    _add_tenants_commands(groups, output)
    _add_collections_commands(groups, output)


def print_outcome(outcome: Outcome, *, as_json: bool) -> None:
    """Print the records as JSON or as a table, and a generated password."""
    if as_json:
        document: Any = outcome.records[0] if outcome.single else outcome.records
        if outcome.generated_password is not None:
            document = {**document, "password": outcome.generated_password}
        print(json.dumps(document, indent=2))
        return
    print(render_table(outcome.records, outcome.columns))
    if outcome.generated_password is not None:
        print(f"password: {outcome.generated_password}")


STUBS: dict[str, Callable[[Any], Any]] = {
    "auth": auth_pb2_grpc.AuthAdminServiceStub,
    "data-discovery": data_discovery_pb2_grpc.DataDiscoveryServiceStub,
}


async def _call(command: Command, args: argparse.Namespace, address: str) -> Outcome:
    service = args.admin_service
    channel = open_channel(service=service, address=address, timeout_seconds=RPC_TIMEOUT_SECONDS)
    async with channel:
        return await command(STUBS[service](channel), args)


def run_admin(args: argparse.Namespace) -> int:
    """Run the parsed `eoplex admin ...` command; the exit status (0 ok, 1 error)."""
    with local_stack_environment():
        return _run_admin(args)


def _run_admin(args: argparse.Namespace) -> int:
    service = getattr(args, "admin_service", "auth")
    address = ServiceAddresses().by_service()[service]
    try:
        outcome = asyncio.run(_call(args.admin_handler, args, address))
    except IngestError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OpenEOError as error:
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
        if isinstance(error, ServiceUnavailable):
            variable = f"OPENEO_{service.replace('-', '_').upper()}_ADDRESS"
            print(
                f"hint: is the {service} service running at {address}? Start the local "
                f"stack with `make run` (in OPENEO_STATE_DIR={state_dir_of(os.environ)}), "
                f"or set {variable}",
                file=sys.stderr,
            )
        return 1
    print_outcome(outcome, as_json=args.json)
    return 0
