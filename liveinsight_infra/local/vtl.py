"""A small evaluator for the Velocity (VTL) subset API Gateway mapping templates use here.

Supported: text with ``$ref`` / ``${ref}`` substitution; ``#set($x = expr)``, including
``$context.responseOverride.header.Name`` and ``$context.responseOverride.status``;
``#if`` / ``#elseif`` / ``#else`` / ``#end``; expressions with string and number literals,
references with attribute access and method calls (``.get("k")``, ``.size()``), ``==``, ``!=``,
``&&``, ``||``, ``!``. A null ``#set`` leaves the variable unchanged, as Velocity 1.7 does.
Anything else raises :class:`VtlError`, which the gateway turns into a 500 as API Gateway would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class VtlError(Exception):
    pass


@dataclass
class Overrides:
    headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None


_ARGS = r"""\((?:[^()"']|"[^"]*"|'[^']*')*\)"""
_REF_BODY = rf"[A-Za-z_]\w*(?:\.[A-Za-z_][\w-]*(?:{_ARGS})?)*"
_REF = re.compile(rf"\$!?(?:\{{({_REF_BODY})\}}|({_REF_BODY}))")


def render(template: str, variables: dict[str, Any]) -> tuple[str, Overrides]:
    """Evaluate ``template``; returns the output text and any response overrides."""
    env = dict(variables)
    overrides = Overrides()
    out: list[str] = []
    _run(_parse(template), env, overrides, out)
    return "".join(out), overrides


# -- parsing into a tree of ("text", s) | ("set", lhs, expr) | ("if", [(cond, body)...], else_body)
def _directive_arg(src: str, start: int) -> tuple[str, int]:
    """The text inside the parentheses that open at ``start``; returns (inside, index after)."""
    depth, i, quote = 0, start, ""
    while i < len(src):
        c = src[i]
        if quote:
            if c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return src[start + 1:i], i + 1
        i += 1
    raise VtlError("unbalanced parentheses")


_DIRECTIVE = re.compile(r"#(set|if|elseif|else|end)\b")


def _parse(src: str) -> list[Any]:
    pos = 0
    root: list[Any] = []
    stack: list[tuple[list[Any], Any]] = []  # (parent body, if-node)
    body = root
    while pos < len(src):
        m = _DIRECTIVE.search(src, pos)
        if not m:
            body.append(("text", src[pos:]))
            break
        if m.start() > pos:
            body.append(("text", src[pos:m.start()]))
        word = m.group(1)
        pos = m.end()
        if word in ("set", "if", "elseif"):
            while pos < len(src) and src[pos] == " ":
                pos += 1
            if pos >= len(src) or src[pos] != "(":
                raise VtlError(f"#{word} without (")
            arg, pos = _directive_arg(src, pos)
        if word == "set":
            lhs, eq, rhs = arg.partition("=")
            if not eq:
                raise VtlError("#set without =")
            body.append(("set", lhs.strip(), rhs.strip()))
        elif word == "if":
            node: Any = ("if", [[arg, []]], [])
            body.append(node)
            stack.append((body, node))
            body = node[1][0][1]
        elif word == "elseif":
            if not stack:
                raise VtlError("#elseif without #if")
            node = stack[-1][1]
            node[1].append([arg, []])
            body = node[1][-1][1]
        elif word == "else":
            if not stack:
                raise VtlError("#else without #if")
            body = stack[-1][1][2]
        elif word == "end":
            if not stack:
                raise VtlError("#end without #if")
            body, _ = stack.pop()
        # A directive alone on its line eats the line break after it, as Velocity does.
        if word != "if" and src.startswith("\n", pos):
            pos += 1
    if stack:
        raise VtlError("#if without #end")
    return root


# -- evaluation -----------------------------------------------------------------------------
def _run(nodes: list[Any], env: dict[str, Any], ov: Overrides, out: list[str]) -> None:
    for node in nodes:
        if node[0] == "text":
            out.append(_REF.sub(lambda m: _text(_resolve(m.group(1) or m.group(2), env), m.group(0)), node[1]))
        elif node[0] == "set":
            _assign(node[1], _expr(node[2], env), env, ov)
        else:
            for cond, body in node[1]:
                if _truthy(_expr(cond, env)):
                    _run(body, env, ov, out)
                    break
            else:
                _run(node[2], env, ov, out)


def _text(value: Any, raw: str) -> str:
    if value is None:
        return "" if raw.startswith("$!") else raw
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _assign(lhs: str, value: Any, env: dict[str, Any], ov: Overrides) -> None:
    if value is None:
        return
    prefix = "$context.responseOverride.header."
    if lhs.startswith(prefix):
        ov.headers[lhs[len(prefix):]] = str(value)
    elif lhs == "$context.responseOverride.status":
        ov.status = int(value)
    elif re.fullmatch(r"\$[A-Za-z_]\w*", lhs):
        env[lhs[1:]] = value
    else:
        raise VtlError(f"cannot assign to {lhs}")


def _truthy(v: Any) -> bool:
    return v is not None and v is not False and v != ""  # Velocity: null and false are false


_TOKEN = re.compile(
    r"""\s*(\|\||&&|==|!=|!|"(?:[^"\\]|\\.)*"|'[^']*'|-?\d+(?:\.\d+)?|true|false|null"""
    rf"""|\$!?(?:\{{{_REF_BODY}\}}|{_REF_BODY}))""")


def _expr(src: str, env: dict[str, Any]) -> Any:
    tokens = []
    pos = 0
    while pos < len(src.rstrip()):
        m = _TOKEN.match(src, pos)
        if not m:
            raise VtlError(f"cannot read expression {src!r}")
        tokens.append(m.group(1))
        pos = m.end()
    value, rest = _or(tokens, env)
    if rest:
        raise VtlError(f"unexpected {rest[0]!r} in {src!r}")
    return value


def _or(t: list[str], env: dict[str, Any]) -> tuple[Any, list[str]]:
    left, t = _and(t, env)
    while t and t[0] == "||":
        right, t = _and(t[1:], env)
        left = _truthy(left) or _truthy(right)
    return left, t


def _and(t: list[str], env: dict[str, Any]) -> tuple[Any, list[str]]:
    left, t = _cmp(t, env)
    while t and t[0] == "&&":
        right, t = _cmp(t[1:], env)
        left = _truthy(left) and _truthy(right)
    return left, t


def _cmp(t: list[str], env: dict[str, Any]) -> tuple[Any, list[str]]:
    left, t = _unary(t, env)
    if t and t[0] in ("==", "!="):
        op = t[0]
        right, t = _unary(t[1:], env)
        equal = left == right if left is not None and right is not None else False
        return (equal if op == "==" else not equal), t
    return left, t


def _unary(t: list[str], env: dict[str, Any]) -> tuple[Any, list[str]]:
    if not t:
        raise VtlError("expression ends early")
    tok, rest = t[0], t[1:]
    if tok == "!":
        value, rest = _unary(rest, env)
        return not _truthy(value), rest
    if tok[0] in "\"'":
        return tok[1:-1].replace('\\"', '"'), rest
    if tok in ("true", "false"):
        return tok == "true", rest
    if tok == "null":
        return None, rest
    if tok[0] == "$":
        m = _REF.fullmatch(tok)
        if not m:
            raise VtlError(f"bad reference {tok}")
        return _resolve(m.group(1) or m.group(2), env), rest
    return (float(tok) if "." in tok else int(tok)), rest


_PART = re.compile(r"([A-Za-z_][\w-]*)(?:\(([^()]*)\))?")


def _resolve(path: str, env: dict[str, Any]) -> Any:
    parts = [m for m in _PART.finditer(path)]
    if not parts:
        return None
    value: Any = env.get(parts[0].group(1))
    for m in parts[1:]:
        if value is None:
            return None
        name, args = m.group(1), m.group(2)
        if args is not None:
            arg_values = [_expr(a, env) for a in args.split(",") if a.strip()]
            value = _call(value, name, arg_values)
        elif isinstance(value, dict):
            value = value.get(name)
        else:
            value = getattr(value, name, None)
    return value


def _call(obj: Any, name: str, args: list[Any]) -> Any:
    if callable(obj.get(name) if isinstance(obj, dict) else None):
        return obj[name](*args)
    if isinstance(obj, dict) and name == "get":
        return obj.get(args[0])
    if name == "size":
        return len(obj)
    if name == "toLowerCase" and isinstance(obj, str):
        return obj.lower()
    raise VtlError(f"unsupported method {name}()")
