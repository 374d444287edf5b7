"""Rules for names, passwords, roles and quotas; each failure is a `BadRequest` saying why."""

import hashlib
import re

from eoplex_auth.store import Quota
from eoplex_common.errors import BadRequest

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
NAME_RULE = "1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '@', '-'"
MIN_PASSWORD_LENGTH = 8
ROLES = ("user", "admin")


def validate_name(value: str, *, what: str) -> str:
    """`value` if it is a valid user name or tenant id; `BadRequest` otherwise."""
    if not NAME_PATTERN.fullmatch(value):
        raise BadRequest(reason=f"{what} {value!r} is invalid: use {NAME_RULE}")
    return value


def validate_password(password: str) -> str:
    """`password` if it is long enough; `BadRequest` otherwise."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadRequest(reason=f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return password


def validate_roles(roles: list[str]) -> list[str]:
    """The roles, deduplicated, defaulting to ["user"]; `BadRequest` for an unknown role."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown:
        raise BadRequest(reason=f"unknown role(s) {', '.join(unknown)}: use {' or '.join(ROLES)}")
    return [role for role in ROLES if role in roles] or ["user"]


def validate_quota(quota: Quota) -> Quota:
    """`quota` if no limit is negative (0 means unlimited); `BadRequest` otherwise."""
    for name, value in vars(quota).items():
        if value < 0:
            raise BadRequest(reason=f"{name} must be 0 (unlimited) or positive, not {value}")
    return quota


def oidc_user_names(*, claimed: str, provider_id: str, sub: str) -> list[str]:
    """Names to try, in order, for a user provisioned from an OIDC token.

    The claimed name is made valid (other characters become "_"); if it is taken by a
    user of another identity, the provider is appended; the last resort derives from
    the subject, which is unique per provider.
    """
    cleaned = re.sub(r"[^A-Za-z0-9._@-]", "_", claimed)[:64]
    digest = hashlib.sha256(f"{provider_id}\0{sub}".encode()).hexdigest()[:16]
    candidates = [cleaned, f"{cleaned[: 63 - len(provider_id)]}@{provider_id}"] if cleaned else []
    return [*candidates, f"{provider_id}-{digest}"]
