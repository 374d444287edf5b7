"""A loopback HTTP server for a folder holding a static STAC catalog, and a tiny STAC API on it.

`serve(folder)` starts `python -m tests.stac_server <folder>` on 127.0.0.1 (a free port)
and stops it when the block ends. It runs in a process of its own because GDAL holds
the GIL while `rasterio.open` reads over `/vsicurl/`, which would starve a server
thread in the reading process. It answers:

- the folder's files, with single byte ranges (`Range: bytes=a-b`) as `/vsicurl/` needs;
- a STAC API over the folder's `collection.json` under `/api/` (landing page with a
  `search` link, `/api/collections/<id>` with `root` and `items` links, and item search
  by POST, one item per page, `next` links carrying the page in their body), and the
  same under `/api-get/` where POST is refused (405) so clients search by GET;
- `/api/requests`: every search so far, as `[method, body]` pairs;
- `/redirect/<port>/<path>`: a 302 to `http://127.0.0.1:<port>/<path>`.
"""

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parent.parent


class StacFiles(SimpleHTTPRequestHandler):
    """The folder's files with byte ranges, and the STAC API (see the module)."""

    searches: ClassVar[list[list[Any]]] = []

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests read no access log."""

    def base(self) -> str:
        port = self.server.server_address[1]  # type: ignore[index]  # an IPv4 address
        return f"http://127.0.0.1:{port}/"

    def send_json(self, document: Any, status: int = 200) -> None:
        body = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        redirect = re.fullmatch(r"/redirect/(\d+)/(.*)", parts.path)
        if redirect is not None:
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{redirect[1]}/{redirect[2]}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        match = re.fullmatch(r"/(api|api-get)/(.*)", parts.path)
        if match is None:
            self.send_file()
            return
        prefix, route = match.groups()
        api = f"{self.base()}{prefix}/"
        collection = self.collection()
        if route == "":
            links = [{"rel": "search", "href": api + "search", "method": "POST"}]
            self.send_json({"type": "Catalog", "id": "api", "description": "", "links": links})
        elif route == "requests":
            self.send_json(self.searches)
        elif route == f"collections/{collection['id']}":
            collection["links"] = [
                {"rel": "root", "href": api},
                {"rel": "items", "href": api + f"collections/{collection['id']}/items"},
            ]
            self.send_json(collection)
        elif route == "search":
            query = {key: values[0] for key, values in parse_qs(parts.query).items()}
            body: dict[str, Any] = {"collections": query["collections"].split(",")}
            if "bbox" in query:
                body["bbox"] = [float(value) for value in query["bbox"].split(",")]
            body |= {key: query[key] for key in ("datetime", "limit") if key in query}
            body["page"] = int(query.get("page", 0))
            self.search("GET", body, api)
        else:
            self.send_json({"code": "NotFound"}, status=404)

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/api/search":
            self.send_json({"code": "MethodNotAllowed"}, status=405)
            return
        length = int(self.headers.get("Content-Length", 0))
        self.search("POST", json.loads(self.rfile.read(length)), f"{self.base()}api/")

    def collection(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(
            Path(self.translate_path("/collection.json")).read_text()
        )
        return document

    def items(self) -> list[dict[str, Any]]:
        """The collection's items, asset hrefs made absolute URLs of this server."""
        found = []
        for link in self.collection()["links"]:
            if link["rel"] != "item":
                continue
            path = Path(self.translate_path("/" + link["href"].removeprefix("./")))
            item = json.loads(path.read_text())
            folder = path.parent.relative_to(Path(self.translate_path("/")))
            for asset in item["assets"].values():
                asset["href"] = f"{self.base()}{folder}/{asset['href'].removeprefix('./')}"
            found.append(item)
        return found

    def search(self, method: str, body: dict[str, Any], api: str) -> None:
        self.searches.append([method, body])
        start, end = str(body.get("datetime") or "../..").split("/")
        box = body.get("bbox")
        items = []
        for item in self.items():
            instant = item["properties"]["datetime"]
            if (start != ".." and instant < start) or (end != ".." and instant >= end):
                continue
            west, south, east, north = item["bbox"]
            if box and (east < box[0] or west > box[2] or north < box[1] or south > box[3]):
                continue
            items.append(item)
        page = int(body.get("page", 0))
        answer: dict[str, Any] = {"type": "FeatureCollection", "features": items[page : page + 1]}
        if page + 1 < len(items):
            following: dict[str, Any] = {"rel": "next", "href": api + "search"}
            if method == "POST":
                following |= {"method": "POST", "body": {"page": page + 1}}
            else:
                query = f"collections={','.join(body['collections'])}&page={page + 1}"
                following["href"] += f"?{query}&datetime={body.get('datetime', '../..')}"
            answer["links"] = [following]
        self.send_json(answer)

    def send_file(self) -> None:
        path = Path(self.translate_path(self.path))
        header = self.headers.get("Range", "")
        span = byte_range(header, path.stat().st_size) if path.is_file() else None
        if span is None:
            super().do_GET()
            return
        start, end = span
        with path.open("rb") as file:
            file.seek(start)
            data = file.read(end - start + 1)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{path.stat().st_size}")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        self.wfile.write(data)


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive span of a single `Range: bytes=a-b` (or `a-`, or suffix `-n`) header
    within a file of `size` bytes; None for no header, several ranges, or none satisfiable
    (the whole file is then the answer, which HTTP allows)."""
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    if match.group(1) == "":
        start = max(size - int(match.group(2)), 0)
        end = size - 1
    else:
        start = int(match.group(1))
        end = min(int(match.group(2) or size - 1), size - 1)
    return (start, end) if start <= end else None


@contextmanager
def server_process(module: str, *arguments: str) -> Iterator[int]:
    """`python -m <module> <arguments>` from the repository root, stopped when the block
    ends; yields the port the module printed as its first line of output."""
    server = subprocess.Popen(
        [sys.executable, "-m", module, *arguments], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        yield int(server.stdout.readline())
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stdout is not None:
            server.stdout.close()


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` from a server process on 127.0.0.1; yields its base URL (ending `/`)."""
    with server_process("tests.stac_server", str(folder)) as port:
        yield f"http://127.0.0.1:{port}/"


def main() -> None:
    folder = sys.argv[1]

    class Handler(StacFiles):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=folder, **kwargs)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
