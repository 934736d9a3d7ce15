"""Docs that code or tests depend on: the generated spec reference, the kinds, the README's example.

That the deployer policy allows every call the tool makes is tests/test_deployer_policy.py's job."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_spec_reference_is_current() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    import spec_reference

    assert (ROOT / "docs" / "spec-reference.md").read_text() == spec_reference.render(), \
        "run: python scripts/spec_reference.py"


def test_the_architecture_lists_every_kind_in_the_registry_order() -> None:
    """docs/architecture.md names the kinds and their count; both must be the registry's."""
    from liveinsight_infra.reconcilers.registry import ordered_kinds

    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Dependency order", 1)[1].split("\n## ", 1)[0]
    count = re.search(r"The stack has (\d+) resource kinds", section)
    order = section.split("(destroy reverses it):", 1)[1].split("\n\n", 2)[1]
    kinds = [k.kind for k in ordered_kinds()]
    assert count is not None and int(count.group(1)) == len(kinds)
    assert re.findall(r"`([a-z0-9_]+\.[a-z0-9_]+)`", order) == kinds


def test_the_readme_python_example_runs() -> None:
    """The "Use it from Python" example, run as a user would (a fresh process, embedded moto)."""
    import os
    import subprocess

    section = (ROOT / "README.md").read_text().split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    done = subprocess.run([sys.executable, "-c", blocks[0]], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert "done: lambda.function.liveinsight-stats-api-dev" in done.stdout
    assert "API: https://" in done.stdout and "releases: [1]" in done.stdout
    assert "rollback refused: release 1 is the first one" in done.stdout
