"""The names a handler module binds at its top level, read by parsing it (never importing it: a spec
check must not run the code it checks).

Lambda imports the module and calls ``module.function``, so the function must be a top-level name:
a ``def``, an assignment (a decorated or wrapped handler), or an import. Bindings under a top-level
``if``/``try``/``with`` count too, since they run at import; a ``def`` inside a class or a function
does not. Reference: https://docs.aws.amazon.com/lambda/latest/dg/python-handler.html
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path


def top_level_names(path: Path) -> set[str]:
    """Every name ``path`` binds at module level; raises SyntaxError (or ValueError) when it does not parse."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    return set(_bound(tree.body))


def _bound(body: Iterable[ast.stmt]) -> Iterable[str]:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            yield node.name
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                yield from (n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            yield from ((a.asname or a.name).split(".")[0] for a in node.names if a.name != "*")
        elif isinstance(node, (ast.If, ast.While, ast.For, ast.AsyncFor, ast.With, ast.AsyncWith)):
            yield from _bound([*node.body, *getattr(node, "orelse", [])])
        elif isinstance(node, ast.Try):
            yield from _bound([*node.body, *node.orelse, *node.finalbody, *(s for h in node.handlers for s in h.body)])
