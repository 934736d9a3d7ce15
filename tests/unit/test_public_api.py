"""The library as other tooling sees it once installed: typed for mypy, and light to import."""

from __future__ import annotations

import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

from liveinsight_infra.plan import Action

ROOT = Path(__file__).resolve().parents[2]

USER_SCRIPT = '''
from liveinsight_infra import Action, Applied, Event, LiveInsightError, Plan, Release, RolledBack, Stack

def progress(event: Event) -> None:
    reveal_type(event.type)
    if event.change is not None and event.change.action is Action.CREATE:
        print(event.change.address)

def run() -> None:
    with Stack.from_file("specs/dev.yaml", moto=True, events=progress) as stack:
        plan: Plan = stack.plan()
        applied: Applied = stack.apply()
        releases: list[Release] = stack.releases()
        back: RolledBack = stack.rollback(to=releases[0].number)
        reveal_type(stack.plan)
        reveal_type(plan.changes)
        reveal_type(back.target.number)
        reveal_type(plan.to_json()["changes"][0]["action"])
        reveal_type(plan.to_json()["summary"]["replace"])
        reveal_type(plan.to_json()["changes"][0]["diffs"][0]["path"])
        reveal_type(applied.outputs["api_url"])
        reveal_type(stack.outputs()["functions"]["stats-api"]["live_version"])
        reveal_type(stack.outputs()["log_groups"])
        print(len(plan), applied.elapsed_s)
    try:
        Stack.from_file("specs/dev.yaml")
    except LiveInsightError as exc:
        print(exc)
'''


def test_a_users_script_type_checks_strictly_against_the_installed_package(tmp_path: Path) -> None:
    """Installed (here: a venv whose site-packages points at this tree), the package is typed only if it
    ships py.typed (https://peps.python.org/pep-0561/); without it mypy sees every name as Any."""
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    purelib = sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    Path(purelib, "liveinsight_infra.pth").write_text(f"{ROOT}\n")
    script = tmp_path / "user.py"
    script.write_text(USER_SCRIPT)
    done = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--config-file", "",
                           "--python-executable", str(env_dir / "bin" / "python"), str(script)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert "Success: no issues found" in done.stdout, done.stdout + done.stderr
    revealed = [line.split("Revealed type is ", 1)[1].replace("builtins.", "")  # spelled either way by mypy versions
                for line in done.stdout.splitlines() if "Revealed" in line]
    assert revealed[1:] == ['"def (destroy: bool =, rotate_origin_secret: bool =, force: bool =) -> '
                            'liveinsight_infra.plan.Plan"',
                            '"tuple[liveinsight_infra.plan.Change, ...]"', '"int"', revealed[4], '"int"', '"str"',
                            '"str | None"', '"str | None"', '"list[str]"']
    # plan.to_json(), as a CLI's --json reader sees it: each change's action is one of the actions
    assert set(re.findall(r"Literal\['(\w+)'\]", revealed[4])) == {a.value for a in Action}
    # an event's type is one of the kinds Event documents, so a caller's match can be checked
    assert set(re.findall(r"Literal\['([\w-]+)'\]", revealed[0])) == {
        "change-start", "change-done", "retry", "wait", "note", "warning", "plan"}


def test_py_typed_is_shipped() -> None:
    import configparser

    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    assert "py.typed" in cfg.get("options.package_data", "liveinsight_infra", fallback="")
    assert (ROOT / "liveinsight_infra" / "py.typed").is_file()


def test_importing_the_package_for_its_errors_loads_no_aws_sdk() -> None:
    """A tool that only catches ``LiveInsightError`` should not pay for boto3, pydantic and PyYAML
    (about a second); ``Stack`` and the rest load on first use."""
    code = ("import sys, liveinsight_infra\n"
            "from liveinsight_infra import LiveInsightError, SpecError, StackLocked\n"
            "print(sorted(m for m in ('boto3', 'botocore', 'pydantic', 'yaml') if m in sys.modules))\n"
            "from liveinsight_infra import Stack, Plan, Event\n"
            "missing = [n for n in liveinsight_infra.__all__ if not hasattr(liveinsight_infra, n)]\n"
            "print(missing, set(liveinsight_infra.__all__) <= set(dir(liveinsight_infra)), Stack.__module__)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "[] True liveinsight_infra.stack"]


def test_every_error_the_library_defines_is_importable_from_the_package() -> None:
    """A caller catches ``AdoptionRequired`` to ask before ``apply(adopt=True)``, or ``ChangesFailed`` to
    read ``failures``: each error class must be reachable as ``liveinsight_infra.<Name>``."""
    import importlib
    import pkgutil

    import liveinsight_infra
    from liveinsight_infra import LiveInsightError

    defined = set()
    for info in pkgutil.walk_packages(liveinsight_infra.__path__, "liveinsight_infra."):
        if info.name.startswith(("liveinsight_infra.local", "liveinsight_infra.__main__")):
            continue  # programs (the local server, the command line), not the library
        module = importlib.import_module(info.name)
        defined |= {name for name, value in vars(module).items()
                    if isinstance(value, type) and issubclass(value, LiveInsightError)
                    and value.__module__ == info.name}
    assert {"ChangesFailed", "AdoptionRequired", "StackLocked"} <= defined
    assert defined <= set(liveinsight_infra.__all__), sorted(defined - set(liveinsight_infra.__all__))
