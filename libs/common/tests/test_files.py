"""`normalize_path`: what a user's file path may be, and its one canonical form."""

import pytest

from eoplex_common.errors import FilePathInvalid
from eoplex_common.files import MAX_PATH_BYTES, MAX_SEGMENT_BYTES, normalize_path


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("fields.geojson", "fields.geojson"),
        ("aoi/fields.geojson", "aoi/fields.geojson"),
        ("aoi//fields.geojson", "aoi/fields.geojson"),
        ("./aoi/./fields.geojson", "aoi/fields.geojson"),
        ("aoi/fields.geojson/", "aoi/fields.geojson"),
        ("europe/österreich/münster.shp", "europe/österreich/münster.shp"),
        ("with space/a b.txt", "with space/a b.txt"),
        ("...hidden/..x/x..", "...hidden/..x/x.."),
        ("a%2e%2e/b", "a%2e%2e/b"),
    ],
)
def test_canonical_form(given: str, expected: str) -> None:
    assert normalize_path(given) == expected
    assert normalize_path(expected) == expected


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "empty"),
        ("/etc/passwd", "relative"),
        ("//etc/passwd", "relative"),
        ("../x", "'..'"),
        ("a/../../x", "'..'"),
        ("a/..", "'..'"),
        ("..", "'..'"),
        ("./", "names no file"),
        ("/", "relative"),
        ("a\\b", "'\\'"),
        ("..\\x", "'\\'"),
        ("C:/x", "':'"),
        ("a'b", '"\'"'),
        ('a"b', "'\"'"),
        ("a\x00b", "U+0000"),
        ("a\nb", "U+000A"),
        ("a\rb", "U+000D"),
        ("a\x1fb", "U+001F"),
        ("a\x7fb", "U+007F"),
        ("a\x85b", "U+0085"),
        ("a\ud800b", "U+D800"),
        ("a" * (MAX_PATH_BYTES + 1), f"{MAX_PATH_BYTES} bytes"),
        ("ü" * (MAX_PATH_BYTES // 2 + 1), f"{MAX_PATH_BYTES} bytes"),
        ("a/" + "b" * (MAX_SEGMENT_BYTES + 1), f"{MAX_SEGMENT_BYTES} bytes"),
    ],
)
def test_refused_paths_say_why(given: str, reason: str) -> None:
    with pytest.raises(FilePathInvalid) as raised:
        normalize_path(given)
    assert raised.value.message.startswith("File path is invalid: ")
    assert reason in raised.value.message


def test_longest_accepted_segment_and_path() -> None:
    segment = "s" * MAX_SEGMENT_BYTES
    path = "/".join([segment] * 4)
    assert len(path.encode()) <= MAX_PATH_BYTES
    assert normalize_path(path) == path
