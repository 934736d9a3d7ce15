"""Deterministic Lambda packages: the same sources always give the same bytes.

A function's package holds its handler module, the shared code of ``handlers/shared/`` and the
pure-Python wheels its spec ``requirements`` name, pinned by ``requirements.lock`` (see vendor.py).
Entries are sorted, timestamps fixed at 1980-01-01, modes normalised, ``__pycache__`` left out, so
``CodeSha256`` only changes when a source file does, and an unchanged spec uploads nothing.

Built packages are kept in ``.cache/packages`` beside the code folder (``$LIVEINSIGHT_PACKAGE_CACHE``
to move it), named by a digest of everything that decides their bytes: each source file's path and
content, the verified wheels' contents, the runtime, the architecture and the zlib that compresses.
A source or lock change is a new name, so a stale package is never used; compressing the vendored
User-Agent parser again on every plan is what this saves. A cache that cannot be written is skipped.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError
from ..spec.model import FunctionSpec
from .vendor import files_of_wheels, wheels_for

SHARED_DIR = "shared"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Lambda's limits: 50 MB zipped for a direct upload, 250 MB unzipped.
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024
_CACHE_FORMAT = b"liveinsight-package-1"


@dataclass(frozen=True)
class Package:
    function: str
    data: bytes
    files: tuple[str, ...]

    @property
    def code_sha256(self) -> str:
        """As Lambda reports it: base64 of the SHA-256 digest."""
        return base64.b64encode(hashlib.sha256(self.data).digest()).decode()

    @property
    def sha256_hex(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)


def package_files(code_dir: Path, handler: str) -> list[Path]:
    module = handler.split(".", 1)[0]
    main = code_dir / f"{module}.py"
    if not main.is_file():
        raise BuildError(f"handler {handler!r}: {main} does not exist")
    files = [main]
    shared = code_dir / SHARED_DIR
    if shared.is_dir():
        files += [p for p in shared.rglob("*") if p.is_file() and _wanted(p)]
    return sorted(files, key=lambda p: p.relative_to(code_dir).as_posix())


def _wanted(path: Path) -> bool:
    return "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pyo") \
        and not path.name.startswith(".")


def build_package(code_dir: Path, function: str, handler: str, requirements: Sequence[str] = (),
                  runtime: str = "python3.12", architecture: str = "arm64") -> Package:
    """The function's zip: its sources and its vendored requirements, the same bytes on every build."""
    contents = {p.relative_to(code_dir).as_posix(): p.read_bytes() for p in package_files(code_dir, handler)}
    wheels = wheels_for(code_dir, requirements, runtime, architecture)  # verified against the lock each time
    digest = hashlib.sha256(_CACHE_FORMAT)
    for part in (runtime, architecture, zlib.ZLIB_RUNTIME_VERSION, *sorted(contents)):
        digest.update(part.encode() + b"\0")
    for data in [*(contents[n] for n in sorted(contents)), *(w.read_bytes() for w in wheels)]:
        digest.update(hashlib.sha256(data).digest())
    cached = _cached_package(code_dir, function, digest.hexdigest())
    if cached is not None:
        return cached
    for name, data in files_of_wheels(function, wheels).items():
        if name in contents:
            raise BuildError(f"function {function}: the vendored {name} would replace {code_dir / name}")
        contents[name] = data
    buf = io.BytesIO()
    unzipped = 0
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(contents):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3  # unix, so the mode above is honoured on every build machine
            unzipped += len(contents[name])
            zf.writestr(info, contents[name], compresslevel=9)
    data = buf.getvalue()
    if len(data) > MAX_ZIPPED or unzipped > MAX_UNZIPPED:
        raise BuildError(f"function {function}: package is {len(data):,} bytes zipped / {unzipped:,} "
                         f"unzipped; Lambda allows {MAX_ZIPPED:,} / {MAX_UNZIPPED:,}")
    _keep(code_dir, digest.hexdigest(), data)
    return Package(function, data, tuple(sorted(contents)))


def package_cache_dir(code_dir: Path) -> Path:
    configured = os.environ.get("LIVEINSIGHT_PACKAGE_CACHE")
    return Path(configured) if configured else code_dir.parent / ".cache" / "packages"


def _cached_package(code_dir: Path, function: str, key: str) -> Package | None:
    try:
        data = (package_cache_dir(code_dir) / f"{key}.zip").read_bytes()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return Package(function, data, tuple(sorted(zf.namelist())))
    except (OSError, zipfile.BadZipFile):
        return None


def _keep(code_dir: Path, key: str, data: bytes) -> None:
    folder = package_cache_dir(code_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Written under a temporary name, then renamed: a build beside this one never reads half a zip.
        partial = folder / f".{key}.{os.getpid()}.part"
        partial.write_bytes(data)
        os.replace(partial, folder / f"{key}.zip")
    except OSError:
        pass  # a read-only checkout builds every time, as before


def build_function(code_dir: Path, key: str, fn: FunctionSpec) -> Package:
    """The package of one function of the spec, with its requirements for its runtime and architecture."""
    return build_package(code_dir, key, fn.handler, fn.requirements, fn.runtime, fn.architecture)
