"""The library's import graph: no moto in it, no cycles in it.

``.importlinter`` (``lint-imports`` in scripts/test) checks the import statements; these tests check
what a real import loads, and that no module of the library depends on itself through others.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]

# Every module of the library, then every reconciler through the registry, as a program would.
_IMPORT_EVERYTHING = """
import importlib, pkgutil, sys
import liveinsight_infra
for info in pkgutil.walk_packages(liveinsight_infra.__path__, "liveinsight_infra."):
    if info.name != "liveinsight_infra.__main__":  # runs the command line
        importlib.import_module(info.name)
from liveinsight_infra.reconcilers.registry import ordered_kinds
assert len(ordered_kinds()) > 20
print(sorted(m for m in sys.modules if m.split(".")[0] in ("moto", "liveinsight_infra_moto")))
"""


def test_importing_the_library_and_every_reconciler_loads_no_moto() -> None:
    done = subprocess.run([sys.executable, "-c", _IMPORT_EVERYTHING], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_the_moto_backend_is_what_a_moto_stack_loads() -> None:
    """The other side of the contract: ``moto=True`` does reach the backend (the door is not shut)."""
    code = ("import sys\nfrom liveinsight_infra import Stack\n"
            "with Stack.from_file('specs/dev.yaml', moto=True) as stack:\n"
            "    print('liveinsight_infra_moto.fidelity' in sys.modules, 'moto' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True True"


def cycles(graph: grimp.ImportGraph, package: str) -> set[tuple[str, str]]:
    """Pairs (a, b) of the package's modules where a imports b and b leads back to a."""
    found = set()
    for importer in graph.find_descendants(package) | {package}:
        for imported in graph.find_modules_directly_imported_by(importer):
            if imported.split(".")[0] == package and graph.chain_exists(importer=imported, imported=importer):
                found.add((importer, imported))
    return found


def test_the_library_has_no_import_cycles() -> None:
    graph = grimp.build_graph("liveinsight_infra", cache_dir=None)
    assert cycles(graph, "liveinsight_infra") == set()


def test_a_cycle_is_found() -> None:
    """The check above can fail: a graph with a circle gives that circle."""
    graph = grimp.ImportGraph()
    for module in ("pkg", "pkg.store", "pkg.visits", "pkg.keys"):
        graph.add_module(module)
    graph.add_import(importer="pkg.store", imported="pkg.visits")
    graph.add_import(importer="pkg.visits", imported="pkg.store")
    graph.add_import(importer="pkg.visits", imported="pkg.keys")
    assert cycles(graph, "pkg") == {("pkg.store", "pkg.visits"), ("pkg.visits", "pkg.store")}
