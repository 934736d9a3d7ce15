"""LiveInsight infrastructure: provision the LiveInsight analytics stack on AWS with boto3 alone.

Use from other tooling (the README's "Use it from Python" shows more)::

    from liveinsight_infra import Stack, LiveInsightError
    with Stack.from_file("specs/dev.yaml", events=print) as stack:
        plan = stack.plan()           # reads only
        result = stack.apply()        # takes the stack lock when there are writes, plans again under it

The engine and the reconcilers stay importable for tooling that needs them (``Engine``,
``Context``, ``Reconciler``); they take no lock.
"""

__version__ = "0.1.0"

from .aws.provider import AwsProvider, CallCounter
from .contract import Context, Event, EventSink, Outputs
from .engine import ApplyResult, Engine
from .errors import AwsCallError, LiveInsightError, SpecError, StackNotFound
from .lock import StackLocked
from .plan import Action, Change, FieldDiff, Plan
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
from .stack import Applied, Cancelled, RolledBack, Stack

__all__ = ["Action", "AlarmReconciler", "Applied", "ApplyResult", "AwsCallError", "AwsProvider", "CallCounter",
           "Cancelled", "Change", "Context", "Engine", "Event", "EventSink", "FieldDiff", "FunctionReconciler",
           "LiveInsightError", "LoadedSpec", "LogGroupReconciler", "Outputs", "Plan", "Reconciler", "Release",
           "RoleReconciler", "RolledBack", "SpecError", "Stack", "StackLocked", "StackNotFound", "StackSpec",
           "TableReconciler", "TopicReconciler", "__version__", "load_spec"]
