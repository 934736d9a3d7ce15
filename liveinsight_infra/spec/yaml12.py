"""Read a spec's YAML strictly, with YAML 1.2 core-schema values.

PyYAML implements YAML 1.1, where ``036`` is the octal number 30, ``1:30`` is 90, ``yes`` and ``on``
are booleans and ``2024-01-01`` is a date; later keys silently replace earlier ones. A spec is read
here with the YAML 1.2 core schema instead (https://yaml.org/spec/1.2.2/#103-core-schema), and every
plain value that a YAML 1.1 reader would take differently is refused with the way to write it, so a
spec means the same thing to every reader. Duplicate keys, tags (``!!binary``, ``!!python/...``),
anchors, aliases and merge keys are refused too; specs never need them.

Sequences become tuples and mappings dicts; nothing else but str, int, float, bool and None.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import yaml

MAX_DEPTH = 32
MAX_NODES = 20_000
MAX_DIGITS = 30  # far above any limit a spec has; int() of thousands of digits is slow or refused

_CORE = "tag:yaml.org,2002:"
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_INT10 = re.compile(r"[-+]?[0-9]+")
_INT8 = re.compile(r"0o[0-7]+")
_INT16 = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_INF = re.compile(r"[-+]?\.(inf|Inf|INF)")
_NAN = re.compile(r"\.(nan|NaN|NAN)")

# What YAML 1.1 (https://yaml.org/type/) reads differently from YAML 1.2's core schema.
_BOOL11 = {**dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
           **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False)}
_LEADING_ZERO = re.compile(r"[-+]?0[0-9]+")
_BINARY11 = re.compile(r"[-+]?0b[01_]+")
_UNDERSCORED = re.compile(r"[-+]?(0x[0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?"
                          r"|\.[0-9_]+([eE][-+]?[0-9]+)?)")
_BASE60 = re.compile(r"([-+]?)([0-9][0-9_]*(?::[0-5]?[0-9])+)(\.[0-9_]*)?")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:"
                        r"[0-9]{2}(\.[0-9]*)?([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?")


@dataclass(frozen=True)
class YamlProblem:
    line: int
    path: tuple[str, ...]  # the field path; empty for the whole document
    message: str


class SpecYamlError(Exception):
    """The document cannot be read as a spec at all (structure, not values)."""

    def __init__(self, problem: YamlProblem):
        self.problem = problem
        super().__init__(problem.message)


class _Composer(yaml.SafeLoader):
    """PyYAML's composer, refusing anchors and aliases, bounding depth and size, recording explicit tags."""

    def __init__(self, text: str):
        super().__init__(text)
        self.depth = 0
        self.count = 0
        self.explicit_tags: dict[int, str] = {}

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise SpecYamlError(YamlProblem(line, (), "YAML anchors and aliases are not allowed in a spec"))
        self.count += 1
        if self.count > MAX_NODES:
            raise SpecYamlError(YamlProblem(line, (), f"more than {MAX_NODES:,} YAML nodes; a spec is far smaller"))
        if self.depth >= MAX_DEPTH:
            raise SpecYamlError(YamlProblem(line, (), f"nested more than {MAX_DEPTH} levels deep; a spec "
                                                      "needs a handful"))
        tag = getattr(event, "tag", None)
        self.depth += 1
        try:
            node: yaml.Node | None = super().compose_node(parent, index)
        finally:
            self.depth -= 1
        if node is None:  # a node event always composes a node; PyYAML types it as optional
            raise SpecYamlError(YamlProblem(line, (), "the YAML parser composed no node here"))
        if tag not in (None, "!"):
            self.explicit_tags[id(node)] = str(tag)
        return node


def compose(text: str) -> tuple[yaml.Node | None, dict[int, str]]:
    """The document's node tree (raises yaml.YAMLError or SpecYamlError) and its explicitly tagged nodes."""
    loader = _Composer(text)
    try:
        return loader.get_single_node(), loader.explicit_tags
    finally:
        loader.dispose()


def build(node: yaml.Node | None, explicit_tags: dict[int, str]) -> tuple[Any, list[YamlProblem]]:
    """Python values for the node tree, and every problem found on the way."""
    problems: list[YamlProblem] = []
    if node is None:
        return None, problems
    return _Builder(explicit_tags, problems).value(node, ()), problems


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag


class _Builder:
    def __init__(self, explicit_tags: dict[int, str], problems: list[YamlProblem]):
        self.explicit_tags, self.problems = explicit_tags, problems

    def problem(self, node: yaml.Node, path: tuple[str, ...], message: str) -> None:
        self.problems.append(YamlProblem(node.start_mark.line + 1, path, message))

    def value(self, node: yaml.Node, path: tuple[str, ...]) -> Any:
        tag = self.explicit_tags.get(id(node))
        if tag is not None:
            self.problem(node, path, f"the YAML tag {_short_tag(tag)} is not allowed in a spec; write the plain "
                                     "value (quote it for text)")
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, yaml.SequenceNode):
            return tuple(self.value(item, (*path, str(i))) for i, item in enumerate(node.value))
        return self.mapping(node, path)

    def scalar(self, node: yaml.ScalarNode, path: tuple[str, ...]) -> Any:
        if node.style is not None:  # quoted or block: always text
            return str(node.value)
        value, problem = plain(str(node.value))
        if problem:
            self.problem(node, path, problem)
        return value

    def mapping(self, node: yaml.Node, path: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode) or id(key_node) in self.explicit_tags:
                self.problem(key_node, path, "a key must be plain text")
                continue
            key = str(key_node.value)
            where = (*path, key)
            if key_node.style is None:
                if key == "<<":
                    self.problem(key_node, where, "merge keys are not allowed in a spec; write the fields out")
                    continue
                parsed, problem = plain(key)
                if problem or not isinstance(parsed, str):
                    kind = "null" if parsed is None else "boolean" if isinstance(parsed, bool) else "number"
                    self.problem(key_node, where, problem or f"the key {key} is read as a {kind}; write it in "
                                                             f"quotes: '{key}'")
                    continue
            if key in first:
                self.problem(key_node, where, f"duplicate key; it is first at line {first[key]} (keep one: YAML "
                                              "readers differ on which one wins)")
                continue
            first[key] = line
            out[key] = self.value(value_node, where)
        return out


def plain(text: str) -> tuple[Any, str | None]:
    """A plain (unquoted) scalar by the YAML 1.2 core schema, or a problem when YAML 1.1 reads it otherwise."""
    ambiguous = _yaml11_reading(text)
    if ambiguous:
        return text, f"{text} is ambiguous: {ambiguous}"
    if text in _NULL:
        return None, None
    if text in _TRUE or text in _FALSE:
        return text in _TRUE, None
    if _INT10.fullmatch(text):
        digits = len(text.lstrip("+-"))
        if digits > MAX_DIGITS:
            return text, f"a number of {digits} digits is far beyond any limit of a spec"
        return int(text), None
    if _INT8.fullmatch(text):
        return int(text[2:], 8), None
    if _INT16.fullmatch(text):
        return int(text[2:], 16), None
    if _FLOAT.fullmatch(text) or _INF.fullmatch(text) or _NAN.fullmatch(text):
        return float(text.replace(".inf", "inf").replace(".Inf", "inf").replace(".INF", "inf")
                     .replace(".nan", "nan").replace(".NaN", "nan").replace(".NAN", "nan")), None
    return text, None


def _yaml11_reading(text: str) -> str | None:
    """How YAML 1.1 reads ``text`` when that differs from YAML 1.2 core, with the unambiguous spelling."""
    if text in _BOOL11:
        return (f"YAML 1.1 reads it as the boolean {str(_BOOL11[text]).lower()}; write true or false for a "
                f"boolean, or '{text}' in quotes for text")
    if _LEADING_ZERO.fullmatch(text):
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-")
        octal = f"the octal number {sign * int(digits, 8)}" if set(digits) <= set("01234567") else "text"
        return (f"a leading zero makes it {octal} in YAML 1.1; write {sign * int(digits, 10)} for the number, "
                f"or '{text}' in quotes for text")
    if _INT8.fullmatch(text):
        return f"YAML 1.1 reads 0o as text; write {int(text[2:], 8)} for the number, or '{text}' in quotes for text"
    if _BINARY11.fullmatch(text) and text.strip("+-").replace("_", "") != "0b":
        sign = -1 if text.startswith("-") else 1
        value = sign * int(text.lstrip("+-")[2:].replace("_", ""), 2)
        return f"YAML 1.1 reads it as the binary number {value}; write {value}, or '{text}' in quotes for text"
    if "_" in text and _UNDERSCORED.fullmatch(text) and any(c.isdigit() for c in text):
        return (f"YAML 1.1 reads it as the number {text.replace('_', '')}; write {text.replace('_', '')}, "
                f"or '{text}' in quotes for text")
    base60 = _BASE60.fullmatch(text)
    if base60:
        minus, whole, fraction = (str(g or "") for g in base60.groups())
        total = 0
        for part in whole.replace("_", "").split(":"):
            total = total * 60 + int(part)
        number = f"{'-' if minus == '-' else ''}{total}{fraction}"
        return (f"YAML 1.1 reads it as the base-60 number {number}; write {number}, or '{text}' in quotes "
                "for text")
    if _TIMESTAMP.fullmatch(text):
        return f"YAML 1.1 reads it as a date; write it in quotes: '{text}'"
    if _FLOAT.fullmatch(text) and "." not in text and re.search("[eE]", text):
        spelled = _plain_number(float(text))
        if spelled is None:
            return (f"YAML 1.1 reads it as text, and the number is too large for any field of a spec; write "
                    f"the number meant in digits, or '{text}' in quotes for text")
        return f"YAML 1.1 reads it as text; write {spelled} for the number, or '{text}' in quotes for text"
    return None


def _plain_number(value: float) -> str | None:
    """How to write ``value`` so every numeric field takes it: a whole number as an integer (an
    integer field refuses 7.0, a float field takes 7); None when it is beyond any field (inf)."""
    if not math.isfinite(value):
        return None
    if value.is_integer():
        whole = int(value)
        return str(whole) if len(str(abs(whole))) <= MAX_DIGITS else None
    return repr(value)
