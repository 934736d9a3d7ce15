"""LiveInsight infrastructure: provision the LiveInsight analytics stack on AWS with boto3 alone.

Use from other tooling (the README's "Use it from Python" shows more)::

    from liveinsight_infra import Stack, LiveInsightError
    with Stack.from_file("specs/dev.yaml", events=print) as stack:
        plan = stack.plan()           # reads only
        result = stack.apply()        # takes the stack lock when there are writes, plans again under it

The engine and the reconcilers stay importable for tooling that needs them (``Engine``,
``Context``, ``Reconciler``); they take no lock.

Names load on first use (https://peps.python.org/pep-0562/): a program that only catches
``LiveInsightError`` (or imports one submodule) pays for no boto3, pydantic or PyYAML import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AwsCallError,
    BuildError,
    Cancelled,
    LiveInsightError,
    LockLost,
    SpecError,
    StackBusy,
    StackClosed,
    StackLocked,
    StackNotFound,
    WrongRegion,
)
from .version import __version__

if TYPE_CHECKING:
    from .aws.provider import AwsProvider, CallCounter
    from .contract import Context, Event, EventSink, EventType, Outputs
    from .engine import Engine
    from .executor import ChangesFailed
    from .outputs import StackOutputs
    from .plan import (
        Action,
        AdoptionRequired,
        Change,
        ChangeJson,
        DataWouldBeLost,
        FieldDiff,
        Plan,
        PlanJson,
        PlanStale,
    )
    from .reconcilers import (
        AlarmReconciler,
        FunctionReconciler,
        LogGroupReconciler,
        Reconciler,
        RoleReconciler,
        TableReconciler,
        TopicReconciler,
    )
    from .releases import Release
    from .spec import LoadedSpec, StackSpec, load_spec
    from .stack import Applied, RolledBack, Stack

_LAZY = {
    ".aws.provider": ("AwsProvider", "CallCounter"),
    ".contract": ("Context", "Event", "EventSink", "EventType", "Outputs"),
    ".engine": ("Engine",),
    ".executor": ("ChangesFailed",),
    ".plan": ("Action", "AdoptionRequired", "Change", "ChangeJson", "DataWouldBeLost", "FieldDiff", "Plan", "PlanJson",
              "PlanStale"),
    ".reconcilers": ("AlarmReconciler", "FunctionReconciler", "LogGroupReconciler", "Reconciler", "RoleReconciler",
                     "TableReconciler", "TopicReconciler"),
    ".outputs": ("StackOutputs",),
    ".releases": ("Release",),
    ".spec": ("LoadedSpec", "StackSpec", "load_spec"),
    ".stack": ("Applied", "RolledBack", "Stack"),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # the next lookup is a plain one
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


__all__ = ["Action", "AdoptionRequired", "AlarmReconciler", "Applied", "AwsCallError", "AwsProvider",
           "BuildError", "CallCounter", "Cancelled", "Change", "ChangeJson", "ChangesFailed", "Context",
           "DataWouldBeLost", "Engine", "Event", "EventSink", "EventType", "FieldDiff", "FunctionReconciler",
           "LiveInsightError", "LoadedSpec", "LockLost", "LogGroupReconciler", "Outputs", "Plan", "PlanJson",
           "PlanStale",
           "Reconciler", "Release", "RoleReconciler", "RolledBack", "SpecError", "Stack", "StackBusy", "StackClosed",
           "StackLocked", "StackNotFound", "StackOutputs", "StackSpec", "TableReconciler", "TopicReconciler",
           "WrongRegion", "__version__", "load_spec"]
