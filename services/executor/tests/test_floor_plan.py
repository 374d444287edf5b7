"""The executor's floor plan: few rooms at the top, no private names shared between
modules, and `processes/` holding processes only.

The checks read the source with `ast` (nothing is imported but the registry), so each
one can also be pointed at another tree of the package.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import eoplex_executor
import eoplex_executor.processes
from eoplex_executor.engine import registry

PACKAGE = Path(eoplex_executor.__file__).parent
MAX_TOP_LEVEL_ENTRIES = 8
# rasterio's modules that open, read or write files: that is io's work. Processes may
# still use its in-memory parts (`rasterio.warp`, `rasterio.transform`, `rasterio.enums`).
FILE_APIS = ("rasterio", "rasterio.io", "rasterio.vrt", "rasterio.shutil", "rasterio.windows")


def top_level_entries(root: Path) -> list[str]:
    """The entries of the package's top level but `__init__.py` and `__pycache__`."""
    return sorted(p.name for p in root.iterdir() if p.name not in ("__init__.py", "__pycache__"))


def modules(root: Path) -> Iterator[tuple[str, bool, ast.Module]]:
    """(dotted name, whether a package, syntax tree) of every module under `root`, named as
    in `eoplex_executor`."""
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        name = ".".join(("eoplex_executor", *parts))
        yield name, is_package, ast.parse(path.read_text(), str(path))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _is_module(root: Path, dotted: str) -> bool:
    path = root.joinpath(*dotted.split(".")[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported_from(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    """The absolute module an `ImportFrom` reads, relative imports resolved."""
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base[: len(base) - node.level + (1 if is_package else 0)]
    return ".".join([*base, *([node.module] if node.module else [])])


def private_imports(root: Path) -> list[str]:
    """`module: name` for every `_`-prefixed name a module of the executor takes from
    another one, by `from ... import _name` or as `module._name`."""
    found = []
    for module, is_package, tree in modules(root):
        imported_modules: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("eoplex_executor.") and alias.asname:
                        imported_modules.add(alias.asname)
            elif isinstance(node, ast.ImportFrom):
                source = _imported_from(module, node, is_package)
                if source.split(".")[0] != "eoplex_executor":
                    continue
                for alias in node.names:
                    if _is_module(root, f"{source}.{alias.name}"):
                        imported_modules.add(alias.asname or alias.name)
                    elif _is_private(alias.name):
                        found.append(f"{module}: {alias.name} from {source}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in imported_modules
                and _is_private(node.attr)
            ):
                found.append(f"{module}: {node.value.id}.{node.attr}")
    return found


def _defines_processes(tree: ast.Module) -> bool:
    """Whether a module defines a function decorated with the registry's `@process(...)`."""
    return any(
        isinstance(node, ast.FunctionDef)
        and any(
            isinstance(decorator, ast.Call)
            and isinstance(decorator.func, ast.Name)
            and decorator.func.id == "process"
            for decorator in node.decorator_list
        )
        for node in tree.body
    )


def _file_apis(tree: ast.Module) -> list[str]:
    imported = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported += [alias.name for alias in node.names if alias.name in FILE_APIS]
        elif isinstance(node, ast.ImportFrom) and node.module in FILE_APIS:
            imported.append(node.module)
    return imported


def misplaced_in_processes(root: Path) -> list[str]:
    """What breaks the rule of `processes/`: a module named without `_` that defines no
    process, a `_`-named module that defines one, a subpackage, a reader or writer of files."""
    directory = root / "processes"
    problems = [
        f"{path.name}/ is a subpackage"
        for path in directory.iterdir()
        if path.is_dir() and path.name != "__pycache__"
    ]
    for path in sorted(directory.glob("*.py")):
        if path.name == "__init__.py":
            continue
        tree = ast.parse(path.read_text(), str(path))
        shared = path.name.startswith("_")
        if shared and _defines_processes(tree):
            problems.append(f"{path.name} is a shared module but defines processes")
        if not shared and not _defines_processes(tree):
            problems.append(f"{path.name} defines no process; name a shared module `_{path.name}`")
        problems += [
            f"{path.name} imports {api}: files are read and written in io/"
            for api in _file_apis(tree)
        ]
    return problems


def test_the_top_level_holds_the_rooms_and_main_only() -> None:
    entries = top_level_entries(PACKAGE)
    assert len(entries) <= MAX_TOP_LEVEL_ENTRIES, entries


def test_no_module_imports_a_private_name_of_another() -> None:
    assert private_imports(PACKAGE) == []


def test_processes_holds_process_modules_and_shared_modules_only() -> None:
    assert misplaced_in_processes(PACKAGE) == []


def test_every_process_is_registered_from_a_process_module() -> None:
    """The registry agrees with the source: processes come from modules named without `_`."""
    homes = {
        implementation.function.__module__ for implementation in registry.implementations().values()
    }
    assert homes
    assert all(
        home.startswith(f"{eoplex_executor.processes.__name__}.")
        and not home.rsplit(".", 1)[-1].startswith("_")
        for home in homes
    ), sorted(homes)


def test_the_checks_see_what_they_forbid(tmp_path: Path) -> None:
    """Each check finds a planted breach of its rule, so a passing check says something."""
    root = tmp_path / "eoplex_executor"
    (root / "processes").mkdir(parents=True)
    for room in ("serve", "batch", "processes", "io", "udf", "geo", "engine", "clients"):
        (root / room).mkdir(exist_ok=True)
        (root / room / "__init__.py").write_text("")
    (root / "__main__.py").write_text("")
    (root / "processes" / "cubes.py").write_text(
        "import rasterio\n\ndef _helper(): ...\n\n@process()\ndef apply(): ...\n"
    )
    (root / "processes" / "reshaping.py").write_text(
        "from eoplex_executor.processes.cubes import _helper\n"
        "from eoplex_executor.processes import cubes\n"
        "cubes._helper()\n"
        "def helper(): ...\n"
    )
    assert len(top_level_entries(root)) == MAX_TOP_LEVEL_ENTRIES + 1
    assert private_imports(root) == [
        "eoplex_executor.processes.reshaping: _helper from eoplex_executor.processes.cubes",
        "eoplex_executor.processes.reshaping: cubes._helper",
    ]
    assert misplaced_in_processes(root) == [
        "cubes.py imports rasterio: files are read and written in io/",
        "reshaping.py defines no process; name a shared module `_reshaping.py`",
    ]
