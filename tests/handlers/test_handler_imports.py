"""The handlers' modules import top-down: entry points, then the ingest pipeline and the queries,
then the leaves (keys, dimensions, validate); no module imports one that imports it back."""

from __future__ import annotations

import sys

import grimp

from tests.conftest import ROOT

HANDLERS = ROOT / "handlers"


def _graph() -> grimp.ImportGraph:
    if str(HANDLERS) not in sys.path:
        sys.path.insert(0, str(HANDLERS))
    return grimp.build_graph("shared", cache_dir=None)


def test_the_shared_modules_have_no_import_cycle() -> None:
    graph = _graph()
    cycles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                cycles.append(graph.find_shortest_chain(importer=imported, imported=module))
    assert cycles == [], cycles


def test_the_leaves_import_nothing_of_the_store() -> None:
    graph = _graph()
    # shared.sites (the accepted sites and the self-referral rule) is a leaf too: validate and
    # dimensions ask it whether a referrer is the site itself
    for leaf in ("shared.keys", "shared.db", "shared.dimensions", "shared.validate", "shared.sites"):
        assert graph.find_modules_directly_imported_by(leaf) <= {"shared.keys", "shared.sites"}, leaf


def test_the_reads_do_not_import_the_writes() -> None:
    graph = _graph()
    for writer in ("shared.store", "shared.plan", "shared.stream"):
        assert not graph.chain_exists(importer="shared.queries", imported=writer)
