"""A corpus of hostile specs through the CLI: each gets a clear message and exit 1, never a traceback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from liveinsight_infra.cli import main
from tests.unit.test_spec_errors import CASES, mutate

DEV = (Path(__file__).resolve().parents[2] / "specs" / "dev.yaml").read_text()
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9)) + "environment: dev\n"

EXTRA: list[tuple[str, str | bytes, str]] = [
    ("empty file", "", "must be a mapping"),
    ("only a comment", "# nothing\n", "must be a mapping"),
    ("a list", "- environment: dev\n", "must be a mapping"),
    ("tabs", "environment:\tdev\nfunctions:\n\t- x\n", "YAML syntax error"),
    ("unclosed quote", 'environment: "dev\n', "YAML syntax error"),
    ("duplicate document", DEV + "\n---\nenvironment: prod\n", "YAML syntax error"),
    ("billion laughs", BOMB, "anchors and aliases are not allowed"),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8"),
    ("huge", "environment: dev\n" + "#" * (1024 * 1024 + 10) + "\n", "a spec is at most"),
    ("huge number", DEV.replace("memory_mb: 128", "memory_mb: 1" + "0" * 5000, 1), "a value cannot be read"),
    ("deep nesting", "environment: dev\ntags: " + "[" * 5000 + "]" * 5000 + "\n", "error"),
    ("environment with a space", DEV.replace("environment: dev", "environment: my dev"), "environment"),
    ("environment too long", DEV.replace("environment: dev", "environment: developmentenv"), "environment"),
    ("environment upper case", DEV.replace("environment: dev", "environment: Prod"), "environment"),
    ("null functions", DEV.replace("functions:\n", "functions: null\nx_functions:\n"), "functions"),
    ("boolean as name", DEV.replace("environment: dev", "environment: yes"), "environment"),
]


def run_cli(path: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", str(path)], out=out, err=err)
    return code, err.getvalue() + out.getvalue()


CORPUS = [(f"{c[0]}={c[1]!r}"[:60], mutate(c[0], c[1]), c[2]) for c in CASES] + EXTRA


@pytest.mark.parametrize(("name", "text", "expected"), CORPUS, ids=[c[0] for c in CORPUS])
def test_hostile_spec_gets_a_message_and_exit_1(tmp_path: Path, name: str, text: str | bytes, expected: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_bytes(text if isinstance(text, bytes) else text.encode())
    code, output = run_cli(spec)
    assert code == 1, output
    assert "Traceback" not in output
    assert output.startswith("error: "), output[:200]
    assert expected in output, output[:400]


def test_corpus_size() -> None:
    assert len(CORPUS) >= 30


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    code, output = run_cli(tmp_path)
    assert code == 1 and "is a folder" in output


def test_yaml_safe_loading_is_used() -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load("!!python/object/apply:os.system ['true']")
