"""LiveInsight infrastructure: provision the LiveInsight analytics stack on AWS with boto3 alone.

Use from other tooling::

    from liveinsight_infra import load_spec, AwsProvider, Context, Engine
    engine = Engine(Context(load_spec("specs/dev.yaml"), AwsProvider("us-east-1")))
    plan = engine.plan()          # reads only
    engine.apply(plan)            # executes exactly that plan
"""

__version__ = "0.1.0"

from .aws.provider import AwsProvider, CallCounter
from .contract import Context, Event, EventSink, Outputs
from .engine import ApplyResult, Engine
from .errors import AwsCallError, LiveInsightError, SpecError
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
from .spec import LoadedSpec, StackSpec, load_spec

__all__ = ["Action", "AlarmReconciler", "ApplyResult", "AwsCallError", "AwsProvider", "CallCounter", "Change",
           "Context", "Engine", "Event", "EventSink", "FieldDiff", "FunctionReconciler", "LiveInsightError",
           "LoadedSpec", "LogGroupReconciler", "Outputs", "Plan", "Reconciler", "RoleReconciler", "SpecError",
           "StackSpec", "TableReconciler", "TopicReconciler", "__version__", "load_spec"]
