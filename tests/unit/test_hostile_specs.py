"""A corpus of hostile specs: each is refused by ``load_spec`` with the field and the reason, and the CLI
turns it into ``error:`` lines and exit 1, never a traceback, before any AWS call.

Each case is a whole spec file written into a copy of the project (specs/, handlers/, site/), so the
checks that look at the folders around the spec run as they do for an operator.
"""

from __future__ import annotations

import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from liveinsight_infra.cli import main
from liveinsight_infra.errors import SpecError
from liveinsight_infra.spec import load_spec

ROOT = Path(__file__).resolve().parents[2]
DEV = (ROOT / "specs" / "dev.yaml").read_text()


def edit(old: str, new: str, text: str = DEV) -> str:
    """The dev spec with one exact passage replaced (the passage must be there, once)."""
    assert text.count(old) == 1, old
    return text.replace(old, new)


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the nth line containing ``needle``."""
    hits = [i for i, t in enumerate(text.splitlines(), 1) if needle in t]
    return hits[nth - 1]


@dataclass(frozen=True)
class Case:
    name: str
    text: str | bytes
    field: str | None  # the field path the message names; None for a problem of the whole file
    reasons: tuple[str, ...]  # words the message must contain (case-insensitive)
    line: int | None = None  # the line the message points at, when it must point at one


BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
    for i in range(9)) + "environment: dev\n"
DUP_ENV = DEV + "environment: prod\n"
DUP_PROTECTION = edit("  point_in_time_recovery: true\n",
                      "  point_in_time_recovery: true\n  deletion_protection: true\n  deletion_protection: false\n")
DUP_FUNCTION = edit("  realtime-api:\n", "  event-collector:\n    handler: stats_api.handler\n  realtime-api:\n")
OCTAL = edit("retention_days: 7", "retention_days: 036")
EC_LIMITS = ("    description: Collects page views and events posted to /api/events and /api/event\n"
             "    memory_mb: 128\n    timeout_s: 10\n")
SEXAGESIMAL = edit(EC_LIMITS, EC_LIMITS.replace("timeout_s: 10", "timeout_s: 1:30"))
LONG_PATH = "/api/" + "a" * 90
# The spec's own variables, 3,915 bytes as Lambda measures them ({"A":"…","B":"…"}), pass alone; with the
# variables the tool adds they exceed 4 KB.
ENV_OVER_4KB = edit(EC_LIMITS, EC_LIMITS + "    environment: {A: " + "x" * 1950 + ", B: " + "y" * 1950 + "}\n")
ALARM0 = ('period_s: 300,\n     evaluation_periods: 2, threshold: 5, comparison: GreaterThanThreshold,\n'
          '     description: "event-collector errors')


def alarm0(period: int, evaluations: int) -> str:
    """The dev spec with its first alarm's period and evaluation periods changed."""
    return edit(ALARM0, ALARM0.replace("period_s: 300", f"period_s: {period}")
                .replace("evaluation_periods: 2", f"evaluation_periods: {evaluations}"))


ROUTES_COLLIDE = edit("    - {path: /api/stats, method: GET, function: stats-api}\n",
                      "    - {path: /api/stats, method: GET, function: stats-api}\n"
                      "    - {path: /api/a-b, method: GET, function: stats-api}\n"
                      "    - {path: /api/a/b, method: GET, function: stats-api}\n")

CASES = [
    # --- files that are not a spec
    Case("empty file", "", None, ("must be a mapping",)),
    Case("only a comment", "# nothing\n", None, ("must be a mapping",)),
    Case("a list", "- environment: dev\n", None, ("must be a mapping",)),
    Case("tabs", "environment:\tdev\nfunctions:\n\t- x\n", None, ("YAML syntax error", "\\t"), 1),
    Case("unclosed quote", 'environment: "dev\n', None, ("YAML syntax error",)),
    Case("two documents", DEV + "\n---\nenvironment: prod\n", None, ("YAML syntax error", "single document")),
    Case("binary", b"\x89PNG\r\n\x1a\n\x00\x00", None, ("not UTF-8",)),
    Case("huge", "environment: dev\n" + "#" * (1024 * 1024 + 10) + "\n", None, ("a spec is at most",)),
    # --- YAML features a spec never needs, refused with the line
    Case("billion laughs", BOMB, None, ("anchors and aliases are not allowed",), 1),
    Case("deep nesting", "environment: dev\ntags: " + "[" * 5000 + "]" * 5000 + "\n", None,
         ("nested more than", "levels"), 2),
    Case("python object tag", "!!python/object/apply:os.system ['true']\n", None, ("tag", "not allowed"), 1),
    Case("binary tag", edit(EC_LIMITS, EC_LIMITS.replace("128", "!!binary gAA=")),
         "functions.event-collector.memory_mb", ("!!binary", "not allowed"), line_of(DEV, "memory_mb: 128")),
    Case("str tag on a number", edit("retention_days: 7", "retention_days: !!int '7'"), "logs.retention_days",
         ("!!int", "not allowed")),
    Case("merge key", edit("table:\n", "table:\n  <<: {deletion_protection: false}\n"), "table.<<",
         ("merge keys",)),
    # --- duplicate keys: an error naming both lines
    Case("duplicate environment", DUP_ENV, "environment",
         ("duplicate key", f"line {line_of(DUP_ENV, 'environment: dev')}"), line_of(DUP_ENV, "environment: prod")),
    Case("duplicate deletion_protection", DUP_PROTECTION, "table.deletion_protection",
         ("duplicate key", f"line {line_of(DUP_PROTECTION, 'deletion_protection: true')}"),
         line_of(DUP_PROTECTION, "deletion_protection: false")),
    Case("duplicate function", DUP_FUNCTION, "functions.event-collector",
         ("duplicate key", f"line {line_of(DUP_FUNCTION, 'event-collector:')}"),
         line_of(DUP_FUNCTION, "event-collector:", 2)),
    # --- YAML 1.1 readings: ambiguous values are errors that say how to write them
    Case("octal-looking number", OCTAL, "logs.retention_days", ("ambiguous", "octal", "write 36"),
         line_of(OCTAL, "retention_days: 036")),
    Case("sexagesimal number", SEXAGESIMAL, "functions.event-collector.timeout_s", ("ambiguous", "write 90"),
         line_of(SEXAGESIMAL, "timeout_s: 1:30")),
    Case("yes as a name", edit("environment: dev", "environment: yes"), "environment",
         ("ambiguous", "true or false", "quotes")),
    Case("on as a boolean", edit("point_in_time_recovery: true", "point_in_time_recovery: on"),
         "table.point_in_time_recovery", ("ambiguous", "write true")),
    Case("underscore number", edit("threshold: 2000", "threshold: 2_000"), "alarms.7.threshold",
         ("ambiguous", "write 2000")),
    Case("0o octal", edit("retention_days: 7", "retention_days: 0o7"), "logs.retention_days", ("ambiguous", "write 7")),
    Case("date as text", edit("description: Serves aggregated statistics on /api/stats", "description: 2024-01-01"),
         "functions.stats-api.description", ("ambiguous", "quotes")),
    Case("non-text key", edit("  owner: platform\n", "  owner: platform\n  1: one\n"), "tags.1", ("key", "quotes")),
    # --- strict types: no string -> number, no boolean -> number
    Case("boolean as a number", edit("retention_days: 7", "retention_days: true"), "logs.retention_days",
         ("valid integer", "not true or false")),
    Case("quoted number", edit("retention_days: 7", "retention_days: '7'"), "logs.retention_days",
         ("valid integer", "without quotes: 7")),
    Case("number as a name", edit("\nproject: liveinsight", "\nproject: 42"), "project", ("valid string", "quotes")),
    Case("float as a count", edit(EC_LIMITS, EC_LIMITS.replace("128", "128.0")), "functions.event-collector.memory_mb",
         ("valid integer",)),
    Case("huge number", edit(EC_LIMITS, EC_LIMITS.replace("128", "1" + "0" * 5000)),
         "functions.event-collector.memory_mb", ("digits",)),
    # --- numbers that never converge
    Case("nan threshold", edit("threshold: 2000", "threshold: .nan"), "alarms.7.threshold", ("finite",)),
    Case("inf threshold", edit("threshold: 2000", "threshold: .inf"), "alarms.7.threshold", ("finite",)),
    Case("-inf rate", edit("rate_limit: 100", "rate_limit: -.inf"), "api.throttling.rate_limit", ("finite",)),
    # --- values AWS refuses, caught before any call, with the limit and a link
    Case("usage plan quota 10^23", edit("  throttling:", "  usage_plan: {quota_per_day: 100000000000000000000000}\n"
                                        "  throttling:"),
         "api.usage_plan.quota_per_day", ("2147483647", "https://docs.aws.amazon.com/apigateway/")),
    Case("alarm over seven days", alarm0(86400000, 100),
         "alarms.0", ("604,800", "https://docs.aws.amazon.com/AmazonCloudWatch/")),
    Case("short-period alarm over a day", alarm0(3000, 30),
         "alarms.0", ("86,400", "less than one hour")),
    Case("alarm period not 10/20/30/60n", alarm0(90, 2),
         "alarms.0.period_s", ("multiple of 60",)),
    Case("environment over 4 KB with the tool's variables", ENV_OVER_4KB, "functions.event-collector.environment",
         ("4 KB", "4096", "https://docs.aws.amazon.com/lambda/")),
    Case("tag value with a bad character", edit("owner: platform", "owner: 'plat<form>'"), "tags.owner",
         ("character", "https://docs.aws.amazon.com/")),
    Case("tag key with a bad character", edit("owner: platform", "'own*er': platform"), "tags.own*er",
         ("character",)),
    Case("tag value too long", edit("owner: platform", "owner: " + "p" * 257), "tags.owner", ("256",)),
    Case("statement id over 100 characters", edit("path: /api/stats,", f"path: {LONG_PATH},"), "api.routes.3.path",
         ("100 characters", "https://docs.aws.amazon.com/lambda/")),
    Case("statement id with a dot", edit("path: /api/stats,", "path: /api/v1.0,"), "api.routes.3.path",
         ("statement id", "letters, digits")),
    Case("statement ids collide", ROUTES_COLLIDE, "api.routes.5.path", ("/api/a-b", "same Lambda statement id")),
    Case("bucket with a reserved prefix", edit("\nproject: liveinsight", "\nproject: sthree"), "project",
         ("sthree-", "https://docs.aws.amazon.com/AmazonS3/")),
    Case("region botocore does not know", edit("region: us-east-1", "region: xx-moon-1"), "region",
         ("xx-moon-1", "us-east-1", "https://docs.aws.amazon.com/")),
    # --- folders: they must exist, stay in the project, and the site must hold the dashboard
    Case("site_dir missing", edit("region: us-east-1\n", "region: us-east-1\nsite_dir: ../sitee\n"), "site_dir",
         ("does not exist",)),
    Case("site_dir outside the project", edit("region: us-east-1\n", "region: us-east-1\nsite_dir: /etc\n"),
         "site_dir", ("outside the project",)),
    Case("site_dir is the project", edit("region: us-east-1\n", "region: us-east-1\nsite_dir: ..\n"),
         "site_dir", ("project folder itself",)),
    Case("site_dir without the dashboard", edit("region: us-east-1\n", "region: us-east-1\nsite_dir: ../handlers\n"),
         "site_dir", ("dashboard.html", "tracker.js")),
    Case("code_dir missing", edit("region: us-east-1\n", "region: us-east-1\ncode_dir: ../handler\n"), "code_dir",
         ("does not exist",)),
    Case("code_dir outside the project", edit("region: us-east-1\n", "region: us-east-1\ncode_dir: /etc\n"),
         "code_dir", ("outside the project",)),
    Case("handler module missing", edit("handler: stats_api.handler", "handler: stat_api.handler"),
         "functions.stats-api.handler", ("stat_api.py",)),
    Case("handler function missing", edit("handler: stats_api.handler", "handler: stats_api.nosuchfunc"),
         "functions.stats-api.handler", ("stats_api.py", "nosuchfunc", "top level")),
    # --- CORS values go verbatim into API Gateway's static header values and the functions' environment
    Case("CORS header with a newline", edit("allow_headers: [Content-Type,", 'allow_headers: ["Content Type\\n",'),
         "api.cors.allow_headers", ("Content Type\\n", "header name")),
    Case("CORS header with a comma", edit("allow_headers: [Content-Type,", "allow_headers: ['A,B',"),
         "api.cors.allow_headers", ("'A,B'", "header name")),
    Case("CORS unknown method", edit("allow_methods: [GET,", "allow_methods: [FETCH,"),
         "api.cors.allow_methods", ("FETCH", "GET")),
    Case("CORS method in lower case", edit("allow_methods: [GET,", "allow_methods: [get,"),
         "api.cors.allow_methods", ("'get'",)),
    Case("CORS origin with a newline", edit('allow_origins: ["*"]', 'allow_origins: ["https://a.example\\n"]'),
         "api.cors.allow_origins", ("not an origin",)),
    Case("CORS origin with a path", edit('allow_origins: ["*"]', 'allow_origins: ["https://a.example/app"]'),
         "api.cors.allow_origins", ("not an origin", "no path")),
    # --- plain field rules
    Case("environment with a space", edit("environment: dev", "environment: my dev"), "environment", ("pattern",)),
    Case("environment too long", edit("environment: dev", "environment: developmentenv"), "environment", ("pattern",)),
    Case("environment upper case", edit("environment: dev", "environment: Prod"), "environment", ("pattern",)),
    Case("null functions", edit("functions:\n", "functions: null\nx_functions:\n"), "functions", ("valid dictionary",)),
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    for folder in ("specs", "handlers", "site"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def write(project: Path, case: Case) -> Path:
    path = project / "specs" / (case.name.replace(" ", "-").replace("/", "-") + ".yaml")
    path.write_bytes(case.text if isinstance(case.text, bytes) else case.text.encode())
    return path


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_load_spec_names_the_field_and_the_reason(project: Path, case: Case) -> None:
    path = write(project, case)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    problems = info.value.problems
    assert all(p.startswith(str(path)) for p in problems), problems
    matching = problems if case.field is None else [p for p in problems if f": {case.field}: " in p]
    assert matching, f"no problem names {case.field!r}: {problems}"
    text = " ".join(matching).lower()
    for word in case.reasons:
        assert word.lower() in text, (word, problems)
    if case.line is not None:
        assert any(p.startswith(f"{path}:{case.line}: ") for p in matching), (case.line, problems)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_cli_prints_error_lines_and_exits_1(project: Path, case: Case) -> None:
    path = write(project, case)
    out, err = io.StringIO(), io.StringIO()
    code = main(["plan", str(path)], out=out, err=err)
    assert code == 1
    assert out.getvalue() == ""
    lines = err.getvalue().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), lines[:5]


def test_the_shipped_specs_still_load() -> None:
    for name in ("dev", "prod"):
        loaded = load_spec(ROOT / "specs" / f"{name}.yaml")
        assert loaded.spec.environment == name
        assert loaded.site_dir == (ROOT / "site").resolve()


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="is a folder"):
        load_spec(tmp_path)


def test_an_endless_file_is_read_only_up_to_the_limit() -> None:
    # /dev/zero reports size 0 and never ends: only a read bounded by bytes read stops it.
    with pytest.raises(SpecError, match="a spec is at most"):
        load_spec("/dev/zero")


def test_the_region_override_is_checked_like_the_spec() -> None:
    with pytest.raises(SpecError) as info:
        load_spec(ROOT / "specs" / "dev.yaml", region="xx-moon-1")
    (problem,) = info.value.problems
    assert ": region: " in problem and "--region" in problem and "xx-moon-1" in problem
    assert load_spec(ROOT / "specs" / "dev.yaml", region="eu-west-1").spec.region == "eu-west-1"


def test_a_site_file_linking_outside_the_project_is_refused(tmp_path: Path) -> None:
    for folder in ("specs", "handlers", "site"):
        shutil.copytree(ROOT / folder, tmp_path / "project" / folder, ignore=shutil.ignore_patterns("__pycache__"))
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the bucket\n")
    (tmp_path / "project" / "site" / "leak.txt").symlink_to(secret)
    spec = tmp_path / "project" / "specs" / "dev.yaml"
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    (problem,) = info.value.problems
    assert problem.startswith(f"{spec}:") and ": site_dir: " in problem
    assert "leak.txt" in problem and "outside the project" in problem


@pytest.mark.parametrize(("old", "written", "value"), [
    ("retention_days: 7", "retention_days: 7e0", "7e0"),
    (EC_LIMITS, EC_LIMITS.replace("memory_mb: 128", "memory_mb: 1e3"), "1e3"),
    ("threshold: 2000", "threshold: 2e3", "2e3"),
])
def test_the_way_to_write_an_exponent_is_accepted_by_its_field(project: Path, old: str, written: str,
                                                               value: str) -> None:
    """The hint for a YAML 1.1-ambiguous exponent names a value the field then takes (an integer field
    refuses 7.0), so following the message loads the spec."""
    case = Case("exponent " + value, edit(old, written), None, ())
    with pytest.raises(SpecError) as info:
        load_spec(write(project, case))
    (problem,) = info.value.problems
    suggested = problem.split("; write ", 1)[1].split(" for the number", 1)[0]
    fixed = Case("exponent fixed " + value, edit(old, written.replace(value, suggested)), None, ())
    assert load_spec(write(project, fixed)).spec is not None


def test_an_exponent_beyond_any_number_is_not_told_to_be_written_as_inf(project: Path) -> None:
    case = Case("exponent 1e400", edit("threshold: 2000", "threshold: 1e400"), "alarms.7.threshold", ())
    with pytest.raises(SpecError) as info:
        load_spec(write(project, case))
    (problem,) = info.value.problems
    assert "alarms.7.threshold" in problem and "too large" in problem
    assert "inf" not in problem.lower().replace("infra", ""), problem


def test_a_handler_bound_at_top_level_without_def_is_accepted_and_a_nested_one_is_not(tmp_path: Path) -> None:
    """The module is parsed, never imported: a name bound at top level (an assignment, an import, a
    def under a top-level ``if``) is a handler Lambda can call; a function nested in a class is not."""
    for folder in ("specs", "handlers", "site"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "handlers" / "extra.py").write_text(
        "import os\nfrom json import dumps as dumped\nwrapped = print\n"
        "if os.environ.get('X'):\n    def late(e, c):\n        return None\n"
        "class Holder:\n    def inner(self):\n        return None\n")
    spec = tmp_path / "specs" / "dev.yaml"
    for name in ("wrapped", "dumped", "late"):
        spec.write_text(edit("handler: stats_api.handler", f"handler: extra.{name}"))
        assert load_spec(spec).spec.functions["stats-api"].handler == f"extra.{name}"
    spec.write_text(edit("handler: stats_api.handler", "handler: extra.inner"))
    with pytest.raises(SpecError, match="inner"):
        load_spec(spec)
