"""Local build steps: Lambda packages (no AWS calls)."""

from .package import Package, build_function, build_package, package_files

__all__ = ["Package", "build_function", "build_package", "package_files"]
