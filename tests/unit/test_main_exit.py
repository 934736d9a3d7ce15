"""``python -m liveinsight_infra`` ends without the interpreter's last walk over the run's objects."""

from __future__ import annotations

import gc
import runpy
import sys
from collections.abc import Iterator

import pytest

import liveinsight_infra.cli


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


def test_the_command_line_freezes_the_run_s_objects_before_it_exits(monkeypatch: pytest.MonkeyPatch,
                                                                    unfrozen: None) -> None:
    seen: list[int] = []

    def command() -> int:
        seen.append(gc.get_freeze_count())
        return 3

    monkeypatch.setattr(liveinsight_infra.cli, "main", command)
    monkeypatch.delitem(sys.modules, "liveinsight_infra.__main__", raising=False)
    with pytest.raises(SystemExit) as ended:
        runpy.run_module("liveinsight_infra", run_name="__main__")
    assert ended.value.code == 3  # the command's exit code, unchanged
    assert seen == [0]  # not while the command runs: its garbage is collected as usual
    assert gc.get_freeze_count() > 0
