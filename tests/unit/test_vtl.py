"""The VTL subset the local gateway evaluates."""

from __future__ import annotations

import pytest

from liveinsight_infra.apigw.definition import origin_template
from liveinsight_infra.local.vtl import VtlError, render


def params(headers: dict[str, str]) -> dict[str, object]:
    return {"input": {"params": lambda: {"header": headers}}, "context": {}}


@pytest.mark.parametrize(("headers", "echoed"), [
    ({"Origin": "https://a.example"}, "https://a.example"),
    ({"origin": "https://b.example"}, "https://b.example"),
    ({"Origin": "https://c.example"}, None),
    ({}, None),
])
def test_origin_template_echoes_only_listed_origins(headers: dict[str, str], echoed: str | None) -> None:
    _, overrides = render(origin_template(("https://a.example", "https://b.example")), params(headers))
    assert overrides.headers.get("Access-Control-Allow-Origin") == echoed


def test_references_conditions_and_null_set() -> None:
    text, ov = render('#set($a = "x")#set($a = $missing)${a}-$!nothing-$kept #if($a != "x")no#elseif($a == "x" && '
                      'true)yes#else never#end#set($context.responseOverride.status = 418)', {})
    assert text == "x--$kept yes"
    assert ov.status == 418


def test_error_message_template() -> None:
    text, _ = render('{"message":$context.error.messageString}', {"context": {"error": {"messageString": '"No"'}}})
    assert text == '{"message":"No"}'


@pytest.mark.parametrize("bad", ["#if($a == 1)x", "#set($a 1)", "#end", "#foreach($x in $y)#end x #set(a = 1)"])
def test_unsupported_or_broken_templates_raise(bad: str) -> None:
    with pytest.raises(VtlError):
        render(bad, {})
