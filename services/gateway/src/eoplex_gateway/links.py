"""Links and paging shared by the routes: the `{href, rel, type}` objects and page URLs."""

from typing import Annotated
from urllib.parse import urlencode

from fastapi import Query

JSON = "application/json"

Limit = Annotated[int | None, Query(ge=1, le=1000)]
Token = Annotated[str, Query(max_length=2000)]


def link(href: str, rel: str, media_type: str = JSON, **extra: str) -> dict[str, str]:
    """An openEO/STAC link object."""
    return {"href": href, "rel": rel, "type": media_type, **extra}


def page_links(base: str, *, limit: int | None, next_token: str) -> list[dict[str, str]]:
    """The `self` link of a listing and, when there is a next page, its `next` link."""
    links = [link(base, "self")]
    if next_token:
        links.append(link(page_url(base, limit=limit, token=next_token), "next"))
    return links


def page_url(base: str, *, limit: int | None, token: str) -> str:
    """A page link carrying the opaque token as `?token=`."""
    query = {"limit": limit, "token": token} if limit else {"token": token}
    return f"{base}?{urlencode(query)}"
