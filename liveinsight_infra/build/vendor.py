"""Third-party code inside a function package: pure-Python wheels, pinned by a lock, verified by hash.

The lock (``requirements.lock`` in the spec's ``code_dir``) is a pip requirements file in which every
line pins one exact version with its ``--hash=sha256:`` values, so ``pip install --require-hashes -r``
accepts it too. A function names the projects it needs in its spec (``requirements``); the build:

* finds each pinned wheel in the wheel cache (a file whose SHA-256 is one of the lock's hashes), and
  only when one is missing asks pip to download it (``pip download --require-hashes --no-deps
  --only-binary=:all:`` for the function's platform and Python), so a warm cache needs no network;
* refuses any wheel that is not pure Python (tag ``py3-none-any``, ``Root-Is-Purelib: true``, no
  compiled extension inside): Lambda runs Amazon Linux on arm64 or x86_64, and a pure wheel is the
  same bytes on both (https://peps.python.org/pep-0427/, https://packaging.python.org/en/latest/specifications/platform-compatibility-tags/);
* refuses a wheel whose unconditional ``Requires-Dist`` is not vendored beside it;
* unpacks the wheel's files at the package root, which Lambda puts on ``sys.path``
  (https://docs.aws.amazon.com/lambda/latest/dg/python-package.html).

No AWS calls; this module never prints.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.parser import Parser
from pathlib import Path

from ..errors import BuildError

LOCK_FILE = "requirements.lock"
CACHE_ENV = "LIVEINSIGHT_WHEEL_CACHE"
_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)$")
_HASH = re.compile(r"^--hash=sha256:([0-9a-f]{64})$")
_COMPILED = (".so", ".pyd", ".dylib", ".dll")


def normalize(name: str) -> str:
    """A project name as PyPI compares them (https://peps.python.org/pep-0503/#normalized-names)."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Pin:
    name: str  # normalised
    version: str
    hashes: frozenset[str]

    def requirement_line(self) -> str:
        return f"{self.name}=={self.version} " + " ".join(f"--hash=sha256:{h}" for h in sorted(self.hashes))


def read_lock(path: Path) -> dict[str, Pin]:
    """Parse the lock; every entry must be ``name==version`` with at least one sha256 hash."""
    if not path.is_file():
        raise BuildError(f"{path} does not exist: it pins the functions' requirements")
    # Continuation lines join as pip joins them (https://pip.pypa.io/en/stable/reference/requirements-file-format/).
    text = re.sub(r"\\\n", " ", path.read_text())
    pins: dict[str, Pin] = {}
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        first, *options = line.split()
        match = _PIN.match(first)
        if match is None:
            raise BuildError(f"{path}: {first!r} is not pinned as name==version")
        hashes = set()
        for option in options:
            found = _HASH.match(option)
            if found is None:
                raise BuildError(f"{path}: {first}: {option!r} is not a --hash=sha256:<64 hex digits>")
            hashes.add(found.group(1))
        if not hashes:
            raise BuildError(f"{path}: {first} has no --hash=sha256: every wheel is verified")
        name = normalize(match.group(1))
        if name in pins:
            raise BuildError(f"{path}: {name} is pinned twice")
        pins[name] = Pin(name, match.group(2), frozenset(hashes))
    return pins


def cache_dir(code_dir: Path) -> Path:
    """Where verified wheels are kept: ``$LIVEINSIGHT_WHEEL_CACHE``, else ``.cache/wheels`` beside code_dir."""
    configured = os.environ.get(CACHE_ENV)
    return Path(configured) if configured else code_dir.parent / ".cache" / "wheels"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cached(pin: Pin, cache: Path) -> Path | None:
    if not cache.is_dir():
        return None
    for path in sorted(cache.glob("*.whl")):
        if normalize(path.name.split("-", 1)[0]) == pin.name and _sha256(path) in pin.hashes:
            return path
    return None


def _download(pins: Sequence[Pin], cache: Path, runtime: str, architecture: str) -> None:
    """Fetch the missing wheels with pip (hash-checked by pip, and again here) into the cache."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="liveinsight-wheels-") as tmp:
        lock = Path(tmp) / "requirements.txt"
        lock.write_text("".join(p.requirement_line() + "\n" for p in pins))
        dest = Path(tmp) / "out"
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
                   "--no-deps", "--only-binary=:all:", "--require-hashes", "--implementation", "cp",
                   "--platform", _PLATFORMS[architecture], "--python-version", runtime.removeprefix("python"),
                   "--dest", str(dest), "-r", str(lock)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            names = ", ".join(f"{p.name}=={p.version}" for p in pins)
            raise BuildError(f"cannot download {names} (the wheel cache {cache} does not hold them): "
                             f"{(done.stderr or done.stdout).strip()[-800:]}")
        for path in sorted(dest.glob("*.whl")):
            # Copied under a temporary name, then renamed: a build running beside this one never
            # reads half a wheel (it would only fail its hash check and download again).
            partial = cache / f".{path.name}.{os.getpid()}.part"
            shutil.copyfile(path, partial)
            os.replace(partial, cache / path.name)


def wheels_for(code_dir: Path, requirements: Iterable[str], runtime: str = "python3.12",
               architecture: str = "arm64") -> list[Path]:
    """The verified wheel of each requirement, downloaded only when the cache lacks it."""
    wanted = sorted({normalize(r) for r in requirements})
    if not wanted:
        return []
    lock_path = code_dir / LOCK_FILE
    pins = read_lock(lock_path)
    unknown = [name for name in wanted if name not in pins]
    if unknown:
        raise BuildError(f"{lock_path} does not pin {', '.join(unknown)}: add it with its sha256 hashes")
    cache = cache_dir(code_dir)
    missing = [pins[name] for name in wanted if _cached(pins[name], cache) is None]
    if missing:
        _download(missing, cache, runtime, architecture)
    wheels = []
    for name in wanted:
        found = _cached(pins[name], cache)
        if found is None:
            raise BuildError(f"no wheel of {name}=={pins[name].version} matches a hash in {lock_path}")
        wheels.append(found)
    return wheels


@dataclass(frozen=True)
class WheelFiles:
    project: str  # normalised
    files: dict[str, bytes]  # path inside the package -> content
    requires: tuple[str, ...]  # unconditional Requires-Dist, normalised


def unpack_wheel(path: Path) -> WheelFiles:
    """The files a pure wheel installs, or a BuildError saying why it cannot go into a package."""
    parts = path.name.removesuffix(".whl").split("-")
    if len(parts) not in (5, 6) or not path.name.endswith(".whl"):
        raise BuildError(f"{path.name} is not a wheel file name (https://peps.python.org/pep-0427/)")
    python, abi, platform = parts[-3:]
    tags = python.split(".")
    if abi != "none" or platform != "any" or "py3" not in tags or not set(tags) <= {"py2", "py3"}:
        raise BuildError(f"{path.name} is not pure Python (tag {python}-{abi}-{platform}, not py3-none-any): "
                         "a compiled wheel would need the function's exact platform")
    files: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            name = info.filename
            if name.startswith("/") or ".." in name.split("/") or "\\" in name:
                raise BuildError(f"{path.name}: unsafe path {name!r}")
            if name.split("/", 1)[0].endswith(".data"):
                raise BuildError(f"{path.name}: {name} installs outside the package (a .data directory)")
            if name.endswith(_COMPILED):
                raise BuildError(f"{path.name}: {name} is a compiled extension; only pure Python is vendored")
            files[name] = zf.read(info)
    dist_info = parts[0] + "-" + parts[1] + ".dist-info"
    wheel_meta = files.get(f"{dist_info}/WHEEL")
    metadata = files.get(f"{dist_info}/METADATA")
    if wheel_meta is None or metadata is None:
        raise BuildError(f"{path.name}: no {dist_info}/WHEEL or METADATA")
    if Parser().parsestr(wheel_meta.decode()).get("Root-Is-Purelib", "").strip().lower() != "true":
        raise BuildError(f"{path.name}: Root-Is-Purelib is not true, so it is not pure Python")
    requires = tuple(sorted(normalize(re.split(r"[\s<>=!~\[(;]", r.strip(), maxsplit=1)[0])
                            for r in Parser().parsestr(metadata.decode()).get_all("Requires-Dist") or []
                            if ";" not in r))
    return WheelFiles(normalize(parts[0]), files, requires)


def files_of_wheels(function: str, wheels: Sequence[Path]) -> dict[str, bytes]:
    """Every file the verified ``wheels`` (from :func:`wheels_for`) put into the function's package."""
    out: dict[str, bytes] = {}
    unpacked = [unpack_wheel(w) for w in wheels]
    present = {w.project for w in unpacked}
    for wheel in unpacked:
        lacking = [r for r in wheel.requires if r not in present]
        if lacking:
            raise BuildError(f"function {function}: {wheel.project} requires {', '.join(lacking)}; add it to the "
                             f"function's requirements (and to {LOCK_FILE})")
        for name, data in wheel.files.items():
            if name in out:
                raise BuildError(f"function {function}: {name} comes from two requirements")
            out[name] = data
    return out
