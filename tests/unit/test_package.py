"""Deterministic Lambda packages."""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
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


# -- vendored requirements --------------------------------------------------------------------------
UA = ("ua-parser", "ua-parser-builtins")


def _wheel(folder: Path, filename: str, files: dict[str, str], purelib: bool = True) -> Path:
    """A small wheel as a build backend would write it."""
    dist, version = filename.split("-")[:2]
    info = f"{dist}-{version}.dist-info"
    files = {**files, f"{info}/WHEEL": f"Wheel-Version: 1.0\nRoot-Is-Purelib: {str(purelib).lower()}\n",
             f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n"}
    path = folder / filename
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


def _lock(code: Path, *wheels: Path) -> None:
    lines = []
    for w in wheels:
        name, version = w.name.split("-")[:2]
        lines.append(f"{name}=={version} \\\n    --hash=sha256:{hashlib.sha256(w.read_bytes()).hexdigest()}\n")
    (code / "requirements.lock").write_text("".join(lines))


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "wheel-cache"
    cache.mkdir()
    monkeypatch.setenv("LIVEINSIGHT_WHEEL_CACHE", str(cache))
    return cache


def _no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    calls: list[object] = []

    def run(*args: object, **kwargs: object) -> None:
        calls.append(args)
        raise AssertionError("the build ran pip")

    monkeypatch.setattr(subprocess, "run", run)
    return calls


def test_vendored_requirements_build_the_same_bytes_twice(project_copy: Path) -> None:
    code = project_copy / "handlers"
    first = build_package(code, "event-collector", "event_collector.handler", UA)
    os.utime(code / "event_collector.py", (1_000_000_000, 1_000_000_000))
    second = build_package(code, "event-collector", "event_collector.handler", UA)
    assert hashlib.sha256(first.data).hexdigest() == hashlib.sha256(second.data).hexdigest()
    with zipfile.ZipFile(io.BytesIO(first.data)) as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert "ua_parser/__init__.py" in names and "ua_parser_builtins/regexes.py" in names
    assert "event_collector.py" in names and "shared/http.py" in names
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert all((i.external_attr >> 16) & 0o777 == 0o644 for i in infos)
    assert not [n for n in names if n.endswith((".pyc", ".so"))]


def test_a_warm_cache_builds_without_the_network(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = project_copy / "handlers"
    warm = build_package(code, "event-collector", "event_collector.handler", UA)  # fills the cache if cold
    calls = _no_network(monkeypatch)
    assert build_package(code, "event-collector", "event_collector.handler", UA).data == warm.data
    assert calls == []


def test_functions_without_requirements_vendor_nothing(project_copy: Path) -> None:
    pkg = build_package(project_copy / "handlers", "stats-api", "stats_api.handler")
    assert not [n for n in pkg.files if n.startswith("ua_parser")]


def test_only_the_collector_vendors_the_user_agent_parser(project_copy: Path) -> None:
    from liveinsight_infra.build import build_function
    from liveinsight_infra.spec import load_spec

    for name in ("dev.yaml", "prod.yaml"):
        loaded = load_spec(project_copy / "specs" / name)
        fns = loaded.spec.functions
        assert "ua_parser/core.py" in build_function(loaded.code_dir, "event-collector", fns["event-collector"]).files
        assert not [f for f in build_function(loaded.code_dir, "stats-api", fns["stats-api"]).files
                    if f.startswith("ua_parser")]


def test_a_requirement_without_what_it_requires_is_refused(project_copy: Path) -> None:
    with pytest.raises(BuildError, match="ua-parser requires ua-parser-builtins"):
        build_package(project_copy / "handlers", "event-collector", "event_collector.handler", ["ua-parser"])


def test_a_requirement_missing_from_the_lock_is_refused(project_copy: Path) -> None:
    with pytest.raises(BuildError, match="does not pin requests"):
        build_package(project_copy / "handlers", "event-collector", "event_collector.handler", ["requests"])


def test_a_lock_entry_without_a_hash_is_refused(project_copy: Path) -> None:
    code = project_copy / "handlers"
    (code / "requirements.lock").write_text("ua-parser==1.0.2\n")
    with pytest.raises(BuildError, match="has no --hash"):
        build_package(code, "event-collector", "event_collector.handler", ["ua-parser"])


def test_a_compiled_wheel_is_refused(project_copy: Path, own_cache: Path) -> None:
    code = project_copy / "handlers"
    wheel = _wheel(own_cache, "fast-1.0-cp312-cp312-manylinux2014_aarch64.whl", {"fast/__init__.py": ""})
    _lock(code, wheel)
    with pytest.raises(BuildError, match="not pure Python"):
        build_package(code, "event-collector", "event_collector.handler", ["fast"])


def test_a_wheel_that_is_not_purelib_or_holds_an_extension_is_refused(project_copy: Path, own_cache: Path) -> None:
    code = project_copy / "handlers"
    platlib = _wheel(own_cache, "plat-1.0-py3-none-any.whl", {"plat/__init__.py": ""}, purelib=False)
    sneaky = _wheel(own_cache, "sneaky-1.0-py3-none-any.whl", {"sneaky/_speed.cpython-312-aarch64-linux-gnu.so": ""})
    _lock(code, platlib, sneaky)
    with pytest.raises(BuildError, match="Root-Is-Purelib"):
        build_package(code, "event-collector", "event_collector.handler", ["plat"])
    with pytest.raises(BuildError, match="compiled extension"):
        build_package(code, "event-collector", "event_collector.handler", ["sneaky"])


def test_a_wheel_whose_hash_does_not_match_the_lock_is_refused(project_copy: Path, own_cache: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    code = project_copy / "handlers"
    wheel = _wheel(own_cache, "tidy-1.0-py3-none-any.whl", {"tidy/__init__.py": "X = 1\n"})
    _lock(code, wheel)
    assert "tidy/__init__.py" in build_package(code, "f", "event_collector.handler", ["tidy"]).files
    _wheel(own_cache, "tidy-1.0-py3-none-any.whl", {"tidy/__init__.py": "X = 'tampered'\n"})
    import liveinsight_infra.build.vendor as vendor

    fetched: list[object] = []
    monkeypatch.setattr(vendor, "_download", lambda pins, *a: fetched.append(pins))  # the index serves nothing better
    with pytest.raises(BuildError, match=r"no wheel of tidy==1\.0 matches a hash"):
        build_package(code, "f", "event_collector.handler", ["tidy"])
    assert len(fetched) == 1


def test_a_vendored_file_may_not_replace_a_source(project_copy: Path, own_cache: Path) -> None:
    code = project_copy / "handlers"
    _lock(code, _wheel(own_cache, "clash-1.0-py3-none-any.whl", {"shared/http.py": "evil = True\n"}))
    with pytest.raises(BuildError, match="would replace"):
        build_package(code, "f", "event_collector.handler", ["clash"])


def test_a_cold_cache_is_filled_by_pip_and_the_next_build_needs_no_index(
        project_copy: Path, own_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    index.mkdir()
    code = project_copy / "handlers"
    _lock(code, _wheel(index, "tidy-1.0-py3-none-any.whl", {"tidy/__init__.py": "X = 1\n"}))
    # pip reads its configuration from the environment (https://pip.pypa.io/en/stable/topics/configuration/):
    # a local folder stands in for the index, so this test never touches the network.
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    first = build_package(code, "f", "event_collector.handler", ["tidy"])
    assert [p.name for p in own_cache.iterdir()] == ["tidy-1.0-py3-none-any.whl"]
    calls = _no_network(monkeypatch)
    assert build_package(code, "f", "event_collector.handler", ["tidy"]).data == first.data
    assert calls == []


def test_a_downloaded_wheel_that_does_not_match_the_lock_is_refused(
        project_copy: Path, own_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    index = tmp_path / "index"
    index.mkdir()
    code = project_copy / "handlers"
    _lock(code, _wheel(tmp_path, "tidy-1.0-py3-none-any.whl", {"tidy/__init__.py": "X = 1\n"}))
    _wheel(index, "tidy-1.0-py3-none-any.whl", {"tidy/__init__.py": "X = 'served by a tampered mirror'\n"})
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(index))
    with pytest.raises(BuildError, match=r"cannot download tidy==1\.0"):
        build_package(code, "f", "event_collector.handler", ["tidy"])
    assert not list(own_cache.glob("*.whl"))


def test_the_test_extras_install_the_versions_the_packages_vendor() -> None:
    import configparser

    from liveinsight_infra.build.vendor import normalize, read_lock

    root = Path(__file__).resolve().parents[2]
    cfg = configparser.ConfigParser()
    cfg.read(root / "setup.cfg")
    extras = [line.strip() for line in cfg["options.extras_require"]["test"].splitlines() if "==" in line]
    pinned = {normalize(name): version for name, version in (line.split("==") for line in extras)}
    lock = read_lock(root / "handlers" / "requirements.lock")
    assert pinned == {name: pin.version for name, pin in lock.items()}


# -- the package cache ------------------------------------------------------------------------------
def _cache(code: Path) -> Path:
    return code.parent / ".cache" / "packages"


def test_a_second_build_is_read_from_the_package_cache(project_copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import liveinsight_infra.build.package as package

    code = project_copy / "handlers"
    first = build_package(code, "event-collector", "event_collector.handler", UA)
    assert len(list(_cache(code).glob("*.zip"))) == 1

    def unpack(*_: object) -> None:
        raise AssertionError("unpacked the wheels again")

    monkeypatch.setattr(package, "files_of_wheels", unpack)
    again = build_package(code, "event-collector", "event_collector.handler", UA)
    assert again.data == first.data and again.files == first.files and again.function == "event-collector"


def test_cached_bytes_are_the_bytes_of_a_fresh_build(project_copy: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    code = project_copy / "handlers"
    build_package(code, "event-collector", "event_collector.handler", UA)
    cached = build_package(code, "event-collector", "event_collector.handler", UA)
    monkeypatch.setenv("LIVEINSIGHT_PACKAGE_CACHE", str(tmp_path / "empty"))
    fresh = build_package(code, "event-collector", "event_collector.handler", UA)
    assert cached.data == fresh.data and cached.files == fresh.files


@pytest.mark.parametrize("source", ["event_collector.py", "shared/http.py"])
def test_changing_a_source_file_misses_the_cache(project_copy: Path, tmp_path: Path, source: str,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    code = project_copy / "handlers"
    before = build_package(code, "event-collector", "event_collector.handler", UA)
    (code / source).write_text((code / source).read_text() + "\n# changed\n")
    after = build_package(code, "event-collector", "event_collector.handler", UA)
    assert after.data != before.data
    with zipfile.ZipFile(io.BytesIO(after.data)) as zf:
        assert zf.read(source).endswith(b"# changed\n")
    monkeypatch.setenv("LIVEINSIGHT_PACKAGE_CACHE", str(tmp_path / "empty"))
    assert build_package(code, "event-collector", "event_collector.handler", UA).data == after.data


def test_changing_the_lock_misses_the_cache(project_copy: Path, own_cache: Path) -> None:
    code = project_copy / "handlers"
    _lock(code, _wheel(own_cache, "tidy-1.0-py3-none-any.whl", {"tidy/__init__.py": "X = 1\n"}))
    first = build_package(code, "f", "event_collector.handler", ["tidy"])
    _lock(code, _wheel(own_cache, "tidy-1.1-py3-none-any.whl", {"tidy/__init__.py": "X = 2\n"}))
    second = build_package(code, "f", "event_collector.handler", ["tidy"])
    with zipfile.ZipFile(io.BytesIO(second.data)) as zf:
        assert zf.read("tidy/__init__.py") == b"X = 2\n" and "tidy-1.1.dist-info/METADATA" in zf.namelist()
    assert second.data != first.data


def test_a_corrupt_cache_entry_is_built_again(project_copy: Path) -> None:
    code = project_copy / "handlers"
    good = build_package(code, "stats-api", "stats_api.handler")
    (entry,) = _cache(code).glob("*.zip")
    entry.write_bytes(b"not a zip")
    assert build_package(code, "stats-api", "stats_api.handler").data == good.data
    assert entry.read_bytes() == good.data


def test_a_cache_that_cannot_be_written_is_skipped(project_copy: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    monkeypatch.setenv("LIVEINSIGHT_PACKAGE_CACHE", str(blocked / "packages"))
    code = project_copy / "handlers"
    assert build_package(code, "stats-api", "stats_api.handler").data == \
        build_package(code, "stats-api", "stats_api.handler").data
