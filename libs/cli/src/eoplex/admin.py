"""`eoplex admin ...`: operator commands on users and tenants, through the auth service's gRPC API.

The auth service is reached at `OPENEO_AUTH_ADDRESS` (default 127.0.0.1:50061). Every
failure is printed as `error: <openEO code>: <message>` and exits with status 1.
"""

import argparse
import asyncio
import getpass
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from eoplex_common.errors import OpenEOError, ServiceUnavailable
from eoplex_common.rpc import open_channel
from eoplex_common.settings import ServiceAddresses
from eoplex_proto.openeo.auth.v1 import auth_pb2, auth_pb2_grpc

RPC_TIMEOUT_SECONDS = 10.0
QUOTA_FIELDS = ("max_concurrent_jobs", "max_storage_bytes", "max_sync_pixels")
USER_COLUMNS = ("name", "tenant_id", "roles", "disabled", "identity", "user_id", "created")
TENANT_COLUMNS = ("tenant_id", "title", *QUOTA_FIELDS)

Stub: TypeAlias = auth_pb2_grpc.AuthAdminServiceStub


@dataclass
class Outcome:
    """What a command prints: records as a table (or JSON) and, maybe, a generated password."""

    records: list[dict[str, Any]]
    columns: tuple[str, ...]
    generated_password: str | None = None
    single: bool = True


Command = Callable[[Stub, argparse.Namespace], Awaitable[Outcome]]


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


def _add_users_commands(groups: Any, output: argparse.ArgumentParser) -> None:
    users = groups.add_parser("users", help="basic-auth and OIDC users")
    commands = users.add_subparsers(dest="admin_command", required=True)
    add = commands.add_parser("add", parents=[output], help="add a basic-auth user")
    add.add_argument("name")
    add.add_argument("--tenant", required=True, help="the user's tenant (must exist)")
    add.add_argument("--role", action="append", choices=["user", "admin"], help="repeatable")
    _add_password_options(add)
    add.set_defaults(admin_handler=users_add)
    listing = commands.add_parser("list", parents=[output], help="list users")
    listing.add_argument("--tenant", help="only the users of this tenant")
    listing.set_defaults(admin_handler=users_list)
    disable = commands.add_parser(
        "disable", parents=[output], help="disable a user and revoke their tokens"
    )
    disable.add_argument("name")
    disable.set_defaults(admin_handler=users_disable)
    set_password = commands.add_parser(
        "set-password", parents=[output], help="set a password and revoke the user's tokens"
    )
    set_password.add_argument("name")
    _add_password_options(set_password)
    set_password.set_defaults(admin_handler=users_set_password)


def _add_tenants_commands(groups: Any, output: argparse.ArgumentParser) -> None:
    tenants = groups.add_parser("tenants", help="tenants and their quotas")
    commands = tenants.add_subparsers(dest="admin_command", required=True)
    add = commands.add_parser(
        "add", parents=[output], help="add a tenant (default quotas unless given)"
    )
    add.add_argument("tenant_id")
    add.add_argument("--title")
    _add_quota_options(add)
    add.set_defaults(admin_handler=tenants_add)
    listing = commands.add_parser("list", parents=[output], help="list tenants")
    listing.set_defaults(admin_handler=tenants_list)
    set_quota = commands.add_parser(
        "set-quota", parents=[output], help="change a tenant's quota (options not given stay)"
    )
    set_quota.add_argument("tenant_id")
    _add_quota_options(set_quota)
    set_quota.set_defaults(admin_handler=tenants_set_quota)


def add_admin_commands(subparsers: Any) -> None:
    """Add `admin users ...` and `admin tenants ...` to the `eoplex` command line."""
    admin = subparsers.add_parser(
        "admin", help="manage users and tenants through the auth service (OPENEO_AUTH_ADDRESS)"
    )
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--json", action="store_true", help="print JSON instead of a table")
    groups = admin.add_subparsers(dest="admin_group", required=True)
    _add_users_commands(groups, output)
    _add_tenants_commands(groups, output)


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


async def _call(command: Command, args: argparse.Namespace, address: str) -> Outcome:
    channel = open_channel(service="auth", address=address, timeout_seconds=RPC_TIMEOUT_SECONDS)
    async with channel:
        return await command(auth_pb2_grpc.AuthAdminServiceStub(channel), args)


def run_admin(args: argparse.Namespace) -> int:
    """Run the parsed `eoplex admin ...` command; the exit status (0 ok, 1 error)."""
    address = ServiceAddresses().auth_address
    try:
        outcome = asyncio.run(_call(args.admin_handler, args, address))
    except OpenEOError as error:
        print(f"error: {error.code}: {error.message}", file=sys.stderr)
        if isinstance(error, ServiceUnavailable):
            print(
                f"hint: is the auth service running at {address}? (set OPENEO_AUTH_ADDRESS)",
                file=sys.stderr,
            )
        return 1
    print_outcome(outcome, as_json=args.json)
    return 0
