"""Generate the Python stubs of proto/ into libs/proto/src/eoplex_proto/ (`make proto`).

protoc names Python modules after the proto path (`openeo.auth.v1`), which would
collide with the `openeo` client package; the stubs are therefore rewritten to
live under `eoplex_proto.openeo`.
"""

import re
import shutil
import sys
import tempfile
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
TARGET = ROOT / "libs" / "proto" / "src" / "eoplex_proto" / "openeo"
IMPORT = re.compile(r"^(from|import) openeo\.", re.MULTILINE)


def generate() -> None:
    protos = sorted(str(p.relative_to(PROTO_DIR)) for p in PROTO_DIR.rglob("*.proto"))
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch)
        args = [
            "protoc",
            f"-I{PROTO_DIR}",
            f"--python_out={out}",
            f"--pyi_out={out}",
            f"--grpc_python_out={out}",
            *protos,
        ]
        if protoc.main(args) != 0:
            sys.exit("protoc failed")
        shutil.rmtree(TARGET, ignore_errors=True)
        for source in sorted(out.rglob("*.py*")):
            text = IMPORT.sub(r"\1 eoplex_proto.openeo.", source.read_text())
            destination = TARGET / source.relative_to(out / "openeo")
            destination.parent.mkdir(parents=True, exist_ok=True)
            destination.write_text(text)
        for folder in [TARGET, *(p for p in TARGET.rglob("*") if p.is_dir())]:
            (folder / "__init__.py").touch()


if __name__ == "__main__":
    generate()
