"""User workspace paths (`/files/{path}`): the one place they are normalised and confined.

A path names a file relative to the root of its owner's workspace, `/`-separated as
the openEO API writes it (`aoi/fields.geojson`). Whatever reaches storage went through
`normalize_path`, so no path can climb out of the workspace, name another user's file
or mean different things to different parts of the back-end.
"""

import unicodedata

from eoplex_common.errors import FilePathInvalid

# Limits of common file systems and of S3 keys (1024 bytes, including the user prefix,
# which the files service keeps short).
MAX_PATH_BYTES = 1024
MAX_SEGMENT_BYTES = 255
# Beyond control characters and `\`, the characters the spec's pattern for a file path
# forbids (`^[^/\r\n\\:'"][^\r\n\\:'"]*$`).
FORBIDDEN_CHARACTERS = frozenset(":'\"")


def normalize_path(path: str) -> str:
    """The canonical form of a user's file path: `./` and repeated slashes collapsed, no
    leading or trailing slash, e.g. `"aoi//./fields.geojson"` -> `"aoi/fields.geojson"`.

    Raises FilePathInvalid (saying why) for an empty or absolute path, a `..` segment,
    a backslash, a control character, `:`, `'` or `"`, a path longer than
    `MAX_PATH_BYTES` or a segment longer than `MAX_SEGMENT_BYTES` (UTF-8 bytes).
    """
    if not path:
        raise FilePathInvalid(reason="the path is empty")
    if len(path.encode("utf-8", errors="replace")) > MAX_PATH_BYTES:
        raise FilePathInvalid(reason=f"the path is longer than {MAX_PATH_BYTES} bytes")
    _check_characters(path)
    if path.startswith("/"):
        raise FilePathInvalid(reason="the path must be relative, not start with '/'")
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    if ".." in segments:
        raise FilePathInvalid(reason="the path must not contain '..'")
    if not segments:
        raise FilePathInvalid(reason="the path names no file")
    for segment in segments:
        if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
            raise FilePathInvalid(
                reason=f"the name {segment[:40]!r}... is longer than {MAX_SEGMENT_BYTES} bytes"
            )
    return "/".join(segments)


def _check_characters(path: str) -> None:
    """FilePathInvalid for the first character a path must not contain."""
    for character in path:
        if character == "\\":
            raise FilePathInvalid(reason="use '/' to separate folders, not '\\'")
        if character in FORBIDDEN_CHARACTERS:
            raise FilePathInvalid(reason=f"the path must not contain {character!r}")
        category = unicodedata.category(character)
        # Cc: C0/C1 controls (NUL, CR, LF, DEL, ...); Cs: lone surrogates, which no
        # storage can encode.
        if category in ("Cc", "Cs"):
            raise FilePathInvalid(
                reason=f"the path must not contain the control character U+{ord(character):04X}"
            )
