"""Deterministic Lambda packages."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

from liveinsight_infra.build import build_package
from liveinsight_infra.errors import BuildError


def test_same_sources_same_bytes_even_after_touching_files(project_copy: Path) -> None:
    code = project_copy / "handlers"
    first = build_package(code, "stats-api", "stats_api.handler")
    for path in code.rglob("*.py"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
        path.chmod(0o600)
    (code / "shared" / "__pycache__").mkdir(exist_ok=True)
    (code / "shared" / "__pycache__" / "http.cpython-311.pyc").write_bytes(b"junk")
    second = build_package(code, "stats-api", "stats_api.handler")
    assert first.data == second.data
    assert first.code_sha256 == second.code_sha256


def test_changing_a_handler_changes_only_its_package(project_copy: Path) -> None:
    code = project_copy / "handlers"
    before = {k: build_package(code, k, f"{m}.handler").code_sha256
              for k, m in [("event-collector", "event_collector"), ("stats-api", "stats_api")]}
    path = code / "stats_api.py"
    path.write_text(path.read_text() + "\n# changed\n")
    assert build_package(code, "stats-api", "stats_api.handler").code_sha256 != before["stats-api"]
    assert build_package(code, "event-collector", "event_collector.handler").code_sha256 == \
        before["event-collector"]


def test_changing_shared_code_changes_every_package(project_copy: Path) -> None:
    code = project_copy / "handlers"
    before = build_package(code, "event-collector", "event_collector.handler").code_sha256
    (code / "shared" / "http.py").write_text((code / "shared" / "http.py").read_text() + "\n# x\n")
    assert build_package(code, "event-collector", "event_collector.handler").code_sha256 != before


def test_package_layout(project_copy: Path) -> None:
    pkg = build_package(project_copy / "handlers", "stats-api", "stats_api.handler")
    with zipfile.ZipFile(io.BytesIO(pkg.data)) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert "stats_api.py" in names and "shared/http.py" in names
    assert "event_collector.py" not in names
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert all((i.external_attr >> 16) & 0o777 == 0o644 for i in infos)


def test_missing_handler_module_is_a_build_error(project_copy: Path) -> None:
    with pytest.raises(BuildError, match="does not exist"):
        build_package(project_copy / "handlers", "x", "nothere.handler")


def test_oversized_package_is_refused(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import liveinsight_infra.build.package as package

    monkeypatch.setattr(package, "MAX_UNZIPPED", 100)
    with pytest.raises(BuildError, match="Lambda allows"):
        build_package(project_copy / "handlers", "stats-api", "stats_api.handler")
