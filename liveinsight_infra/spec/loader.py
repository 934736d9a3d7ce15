"""Read a spec file into a :class:`StackSpec`, turning every problem into a field-named message.

A bad spec never raises anything but :class:`SpecError`, whose ``problems`` list has one line per
problem: ``file:line: field.path: reason``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import SpecError
from .model import StackSpec

# A model-level validator reports a nested field by starting its message with "a.b.0.c: ".
_PATH_PREFIX = re.compile(r"^([A-Za-z_][\w-]*(?:\.[\w-]+)*): (.*)$", re.S)


@dataclass(frozen=True)
class LoadedSpec:
    spec: StackSpec
    path: Path

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    @property
    def code_dir(self) -> Path:
        return (self.base_dir / self.spec.code_dir).resolve()

    @property
    def site_dir(self) -> Path:
        return (self.base_dir / self.spec.site_dir).resolve()


MAX_SPEC_BYTES = 1024 * 1024
MAX_NODES = 20_000


def load_spec(path: str | Path) -> LoadedSpec:
    p = Path(path)
    try:
        if p.is_dir():
            raise SpecError([f"{p}: is a folder; give the spec file, e.g. specs/dev.yaml"])
        size = p.stat().st_size
        if size > MAX_SPEC_BYTES:
            raise SpecError([f"{p}: {size:,} bytes; a spec is at most {MAX_SPEC_BYTES:,}"])
        text = p.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise SpecError([f"{p}: no such file"]) from None
    except UnicodeDecodeError:
        raise SpecError([f"{p}: not UTF-8 text (is it a YAML spec?)"]) from None
    except OSError as exc:
        raise SpecError([f"{p}: cannot read: {exc.strerror or exc}"]) from None
    return LoadedSpec(parse_spec(text, str(p)), p)


def parse_spec(text: str, source: str = "<spec>") -> StackSpec:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        reason = getattr(exc, "problem", None) or str(exc)
        raise SpecError([f"{where}: YAML syntax error: {reason}"]) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of thousands of digits, deep nesting
        raise SpecError([f"{source}: a value cannot be read: {str(exc)[:200]}"]) from None
    _check_shape(node, source)
    if not isinstance(data, dict):
        raise SpecError([f"{source}: the spec must be a mapping of fields, got {type(data).__name__}"])
    try:
        return StackSpec.model_validate(data)
    except ValidationError as exc:
        raise SpecError([_describe(err, node, source) for err in exc.errors()]) from None


def _check_shape(node: yaml.Node | None, source: str) -> None:
    """Refuse aliases (a "billion laughs" document expands exponentially; specs never need them)
    and documents with more nodes than any real spec has."""
    seen: set[int] = set()
    stack = [node] if node is not None else []
    count = 0
    while stack:
        n = stack.pop()
        if id(n) in seen:
            raise SpecError([f"{source}:{n.start_mark.line + 1}: YAML anchors and aliases are not allowed in a spec"])
        seen.add(id(n))
        count += 1
        if count > MAX_NODES:
            raise SpecError([f"{source}: more than {MAX_NODES:,} YAML nodes; a spec is far smaller"])
        if isinstance(n, yaml.MappingNode):
            for k, v in n.value:
                stack += [k, v]
        elif isinstance(n, yaml.SequenceNode):
            stack += list(n.value)


def _describe(err: Any, node: yaml.Node | None, source: str) -> str:
    loc = [str(part) for part in err["loc"]]
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    match = _PATH_PREFIX.match(msg)
    if match and not loc:
        loc = match.group(1).split(".")
        msg = match.group(2)
    field = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; `schema` lists every field)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
        msg = f"{msg} (got {_short(err['input'])})"
    line = _line_of(node, loc)
    where = f"{source}:{line}" if line else source
    return f"{where}: {field}: {msg}"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """The 1-based line of the deepest node on ``loc`` that exists in the YAML document."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if nxt is None:
                key = next((k for k, _ in node.value if getattr(k, "value", None) == part), None)
                return key.start_mark.line + 1 if key is not None else best
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            node = node.value[int(part)]
        else:
            return best
        best = node.start_mark.line + 1
    return best
