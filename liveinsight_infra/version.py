"""The tool's version: one place, read by the package, the CLI and saved plans (a leaf module)."""

__version__ = "0.1.0"
