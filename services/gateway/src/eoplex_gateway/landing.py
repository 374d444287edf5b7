"""The HTML page a browser gets at the server's root, and when to serve it."""

from html import escape
from urllib.parse import urlencode

WEB_EDITOR = "https://editor.openeo.org/"
OPENEO_DOCS = "https://openeo.org/documentation/1.0/"
API_SPEC = "https://api.openeo.org/1.2.0/"


def wants_html(accept: str) -> bool:
    """Whether an `Accept` header prefers HTML: it names `text/html` and ranks it at least as
    high as `application/json`. Wildcards count for neither, so the openEO clients (which
    send `application/json, ...`, `*/*` or nothing) get JSON."""
    weights: dict[str, float] = {}
    for entry in accept.split(","):
        media_type, *parameters = (part.strip() for part in entry.split(";"))
        weight = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[media_type.lower()] = max(weights.get(media_type.lower(), 0.0), weight)
    html = weights.get("text/html", 0.0)
    return html > 0 and html >= weights.get("application/json", 0.0)


def build_landing_page(*, title: str, description: str, api_url: str, well_known_url: str) -> str:
    """A small page naming the back-end and linking to its API root document, the
    well-known document, the openEO documentation and the openEO Web Editor opened on
    `api_url`. Every value is escaped."""
    editor = f"{WEB_EDITOR}?{urlencode({'server': api_url})}"
    links = [
        (api_url, "API root document (JSON)"),
        (well_known_url, "Supported openEO API versions (JSON)"),
        (editor, "Open in the openEO Web Editor"),
        (OPENEO_DOCS, "openEO documentation"),
        (API_SPEC, "openEO API 1.2.0 specification"),
    ]
    items = "\n".join(
        f'<li><a href="{escape(href)}">{escape(text)}</a></li>' for href, text in links
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
</head>
<body>
<h1>{escape(title)}</h1>
<p>{escape(description)}</p>
<p>An openEO back-end. Connect a client to <code>{escape(api_url)}</code>.</p>
<ul>
{items}
</ul>
</body>
</html>
"""
