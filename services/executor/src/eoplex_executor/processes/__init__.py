"""Every implemented openEO process; importing this package registers them all.

A module named without `_` holds processes; one named with `_` (`_checks`, `_children`,
`_elementwise`, `_labels`, `_periods`) holds what several of them share, under public
names."""

import importlib
import pkgutil

# Every module of this package named without `_`: a new process family is its module alone.
PROCESS_MODULES = tuple(
    sorted(info.name for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_"))
)

for _module in PROCESS_MODULES:
    importlib.import_module(f"{__name__}.{_module}")
