"""When the root answers HTML, and the page it builds."""

import pytest

from eoplex_gateway.landing import build_landing_page, wants_html


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("text/html", True),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0", False),
        ("text/html;q=abc", False),
        ("application/json, text/plain, */*", False),
        ("*/*", False),
        ("", False),
    ],
)
def test_wants_html(accept: str, html: bool) -> None:
    assert wants_html(accept) is html


def test_landing_page_escapes_title_and_description() -> None:
    page = build_landing_page(
        title="<b>Lab</b>",
        description='A "test" & more',
        api_url="https://h/openeo/1.2/",
        well_known_url="https://h/.well-known/openeo",
    )
    assert "<title>&lt;b&gt;Lab&lt;/b&gt;</title>" in page
    assert "<p>A &quot;test&quot; &amp; more</p>" in page
    assert '<a href="https://h/.well-known/openeo">' in page
