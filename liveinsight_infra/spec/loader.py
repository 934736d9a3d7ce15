"""Read a spec file into a :class:`StackSpec`, turning every problem into a field-named message.

A bad spec never raises anything but :class:`SpecError`, whose ``problems`` list has one line per
problem: ``file:line: field.path: reason``. In order: the file (at most 1 MiB, UTF-8), its YAML
(``yaml12``: YAML 1.2 core values, strictly), the fields (the model, validated strictly), the limits
AWS puts on what derives from them (``aws_limits``), then the folders the spec names. Everything is
checked before any AWS call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import SpecError
from . import aws_limits, yaml12
from .model import StackSpec
from .module_names import top_level_names

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
    def project_dir(self) -> Path:
        """The spec's project: the folder that holds the spec's folder (``specs/``)."""
        return self.base_dir.resolve().parent

    @property
    def code_dir(self) -> Path:
        return (self.base_dir / self.spec.code_dir).resolve()

    @property
    def site_dir(self) -> Path:
        return (self.base_dir / self.spec.site_dir).resolve()


MAX_SPEC_BYTES = 1024 * 1024
TRACKER = "tracker.js"


def load_spec(path: str | Path, region: str | None = None) -> LoadedSpec:
    """Read, validate and check a spec file; ``region`` overrides the spec's (``--region``).

    Besides the fields, the folders around it are checked: ``code_dir`` and ``site_dir`` must be
    folders inside the project, the site must hold the dashboard and the tracker, and every handler's
    module must be in ``code_dir`` (a mistyped ``site_dir`` would otherwise delete the deployed site).
    """
    p = Path(path)
    try:
        if p.is_dir():
            raise SpecError([f"{p}: is a folder; give the spec file, e.g. specs/dev.yaml"])
        with p.open("rb") as f:
            # Bounded by the bytes actually read: /dev/zero or a FIFO reports no size.
            data = f.read(MAX_SPEC_BYTES + 1)
        if len(data) > MAX_SPEC_BYTES:
            raise SpecError([f"{p}: more than {MAX_SPEC_BYTES:,} bytes; a spec is at most {MAX_SPEC_BYTES:,}"])
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise SpecError([f"{p}: no such file"]) from None
    except UnicodeDecodeError:
        raise SpecError([f"{p}: not UTF-8 text (is it a YAML spec?)"]) from None
    except OSError as exc:
        raise SpecError([f"{p}: cannot read: {exc.strerror or exc}"]) from None
    node, spec = _parse(text, str(p), region)
    loaded = LoadedSpec(spec, p)
    problems = [_format(str(p), node, loc, msg) for loc, msg in folder_problems(loaded)]
    if problems:
        raise SpecError(problems)
    return loaded


def parse_spec(text: str, source: str = "<spec>", region: str | None = None) -> StackSpec:
    """Validate spec text (no file around it: the folders are not checked)."""
    return _parse(text, source, region)[1]


def _parse(text: str, source: str, region: str | None) -> tuple[yaml.Node | None, StackSpec]:
    try:
        node, tags = yaml12.compose(text)
    except yaml12.SpecYamlError as exc:
        raise SpecError([f"{source}:{exc.problem.line}: {exc.problem.message}"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        reason = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        if context:
            reason = f"{context}, {reason}"
        raise SpecError([f"{where}: YAML syntax error: {reason}"]) from None
    data, yaml_problems = yaml12.build(node, tags)
    if yaml_problems:
        raise SpecError([_located(source, p.line, ".".join(p.path), p.message) for p in yaml_problems])
    if not isinstance(data, dict):
        kind = "nothing" if data is None else "a list" if isinstance(data, tuple) else f"the value {_short(data)}"
        raise SpecError([f"{source}: the spec must be a mapping of fields, got {kind}"])
    if region is not None:
        data = {**data, "region": region}
    try:
        # Strict: text never becomes a number, nor a boolean a number
        # (https://docs.pydantic.dev/latest/concepts/strict_mode/).
        spec = StackSpec.model_validate(data, strict=True)
    except ValidationError as exc:
        raise SpecError([_override(_describe(err, node, source), region) for err in exc.errors()]) from None
    problems = [_override(_format(source, node, loc, msg), region) for loc, msg in aws_limits.problems(spec)]
    if problems:
        raise SpecError(problems)
    return node, spec


def folder_problems(loaded: LoadedSpec) -> list[tuple[tuple[str, ...], str]]:
    """The folders the spec names, checked before any AWS call."""
    spec, project = loaded.spec, loaded.project_dir
    out: list[tuple[tuple[str, ...], str]] = []
    for field, folder, given in (("code_dir", loaded.code_dir, spec.code_dir),
                                 ("site_dir", loaded.site_dir, spec.site_dir)):
        if folder == project:
            out.append(((field,), f"{given!r} is the project folder itself ({project}); point it at a folder "
                                  f"of its own, e.g. {StackSpec.model_fields[field].default}"))
        elif not folder.is_relative_to(project):
            out.append(((field,), f"{given!r} is {folder}, outside the project {project} (the folder that holds "
                                  f"{loaded.base_dir.name}/); keep it inside"))
        elif not folder.is_dir():
            out.append(((field,), f"{given!r}: {folder} does not exist or is not a folder"))
        elif field == "site_dir":
            wanted = (spec.distribution.default_root_object, TRACKER)
            missing = [name for name in wanted if not (folder / name).is_file()]
            if missing:
                out.append(((field,), f"{folder} has no {' or '.join(missing)}: is it the dashboard's folder? "
                                      f"(apply would replace the deployed site with it; it needs {', '.join(wanted)})"))
            # Every file is published: one that links outside the project would publish what it points at.
            leaks = sorted(str(f.relative_to(folder)) for f in folder.rglob("*")
                           if f.is_symlink() and not f.resolve().is_relative_to(project))
            if leaks:
                out.append(((field,), f"{', '.join(leaks[:5])} in {folder} link outside the project; apply would "
                                      "publish what they point at: copy the files in, or remove the links"))
        else:
            for key, fn in spec.functions.items():
                name, function = fn.handler.split(".", 1)
                module = name + ".py"
                if not (folder / module).is_file():
                    out.append((("functions", key, "handler"), f"{folder} has no {module}"))
                    continue
                try:
                    names = top_level_names(folder / module)
                except (SyntaxError, ValueError) as exc:
                    out.append((("functions", key, "handler"), f"{folder / module} does not parse as Python: {exc}"))
                    continue
                if function not in names:
                    out.append((("functions", key, "handler"),
                                f"{folder / module} defines no {function} at its top level (Lambda calls "
                                f"{fn.handler}: a function of the module, not of a class)"))
    return out


def _override(problem: str, region: str | None) -> str:
    """A problem with the region given on the command line names --region, not a line of the file."""
    if region is None:
        return problem
    where, sep, rest = problem.partition(": region: ")
    if not sep:
        return problem
    return f"{re.sub(r':[0-9]+$', '', where)}: region: {rest} (the region given with --region)"


def _located(source: str, line: int | None, field: str, msg: str) -> str:
    where = f"{source}:{line}" if line else source
    return f"{where}: {field}: {msg}" if field else f"{where}: {msg}"


def _format(source: str, node: yaml.Node | None, loc: tuple[str, ...], msg: str) -> str:
    return _located(source, _line_of(node, list(loc)), ".".join(loc) or "(top level)", msg)


def _describe(err: Any, node: yaml.Node | None, source: str) -> str:
    loc = [str(part) for part in err["loc"]]
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    match = _PATH_PREFIX.match(msg)
    if match and not loc:
        loc = match.group(1).split(".")
        msg = match.group(2)
    if loc and loc[-1] == "[key]":  # a mapping's key, e.g. a tag's name
        loc = loc[:-1]
        msg = f"the key: {msg}"
    field = ".".join(loc) or "(top level)"
    if err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling; `schema` lists every field)"
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif "input" in err and err["type"] not in ("value_error", "assertion_error"):
        msg = f"{msg} (got {_short(err['input'])}){_how_to_write(err['type'], err['input'])}"
    line = _line_of(node, loc)
    where = f"{source}:{line}" if line else source
    return f"{where}: {field}: {msg}"


def _how_to_write(kind: str, value: Any) -> str:
    """For a value of the wrong type (strict validation), how to write the one meant."""
    if kind in ("int_type", "float_type"):
        if isinstance(value, bool):
            return "; write a number, not true or false"
        if isinstance(value, str) and yaml12.plain(value)[0] != value:
            return f"; write it without quotes: {value}"
    if kind == "string_type" and isinstance(value, (int, float)):
        text = str(value).lower() if isinstance(value, bool) else str(value)
        return f"; write it in quotes for text: '{text}'"
    if kind == "bool_type" and isinstance(value, str) and value.lower() in ("true", "false"):
        return f"; write it without quotes: {value.lower()}"
    return ""


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
