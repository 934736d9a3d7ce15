"""Deterministic Lambda packages: the same sources always give the same bytes.

A function's package holds its handler module and the shared code of ``handlers/shared/``.
Entries are sorted, timestamps fixed at 1980-01-01, modes normalised, ``__pycache__`` left out, so
``CodeSha256`` only changes when a source file does, and an unchanged spec uploads nothing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import BuildError

SHARED_DIR = "shared"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
# Lambda's limits: 50 MB zipped for a direct upload, 250 MB unzipped.
MAX_ZIPPED = 50 * 1024 * 1024
MAX_UNZIPPED = 250 * 1024 * 1024


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


def build_package(code_dir: Path, function: str, handler: str) -> Package:
    buf = io.BytesIO()
    names: list[str] = []
    unzipped = 0
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in package_files(code_dir, handler):
            name = path.relative_to(code_dir).as_posix()
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o100644 & 0xFFFF) << 16
            info.create_system = 3  # unix, so the mode above is honoured on every build machine
            data = path.read_bytes()
            unzipped += len(data)
            zf.writestr(info, data, compresslevel=9)
            names.append(name)
    data = buf.getvalue()
    if len(data) > MAX_ZIPPED or unzipped > MAX_UNZIPPED:
        raise BuildError(f"function {function}: package is {len(data):,} bytes zipped / {unzipped:,} "
                         f"unzipped; Lambda allows {MAX_ZIPPED:,} / {MAX_UNZIPPED:,}")
    return Package(function, data, tuple(names))
