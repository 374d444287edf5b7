"""The committed executor manifest is what `make manifest` writes from the executor now.

`make manifest-check` (in CI) says the same with `git diff`; this test names the drift.
"""

from eoplex_common.manifest import MANIFEST, parse_manifest
from eoplex_executor.engine.registry import implementations
from tools.generate_manifest import build_manifest, render


def test_the_committed_manifest_is_a_fresh_generation() -> None:
    committed = MANIFEST.read_text(encoding="utf-8")
    fresh = render(build_manifest())
    assert committed == fresh, "the executor manifest is stale: run make manifest and commit"


def test_the_manifest_lists_the_registry_and_the_writers() -> None:
    from eoplex_executor.processes.saving import OUTPUT_FORMATS

    generated = parse_manifest(build_manifest())
    assert generated.processes == frozenset(implementations())
    assert set(generated.output_formats) == set(OUTPUT_FORMATS)
    assert dict(generated.output_formats["GTiff"].options) == {
        "datatype": None,
        "overviews": True,
    }
