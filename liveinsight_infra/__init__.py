"""LiveInsight infrastructure: provision the LiveInsight analytics stack on AWS with boto3 alone.

Use from other tooling::

    from liveinsight_infra import load_spec, AwsProvider, Context, Engine
    engine = Engine(Context(load_spec("specs/dev.yaml"), AwsProvider("us-east-1")))
    plan = engine.plan()          # reads only
    engine.apply(plan)            # executes exactly that plan
"""

__version__ = "0.1.0"

from .aws.provider import AwsProvider, CallCounter  # noqa: E402
from .engine import ApplyResult, Context, Engine, Event  # noqa: E402
from .errors import AwsCallError, LiveInsightError, SpecError  # noqa: E402
from .plan import Action, Change, FieldDiff, Plan  # noqa: E402
from .reconcilers import (  # noqa: E402
    AlarmReconciler,
    FunctionReconciler,
    LogGroupReconciler,
    Reconciler,
    RoleReconciler,
    TableReconciler,
    TopicReconciler,
)
from .spec import LoadedSpec, StackSpec, load_spec  # noqa: E402

__all__ = ["Action", "AlarmReconciler", "ApplyResult", "AwsCallError", "AwsProvider", "CallCounter", "Change",
           "Context", "Engine", "Event", "FieldDiff", "FunctionReconciler", "LiveInsightError",
           "LoadedSpec", "LogGroupReconciler", "Plan", "Reconciler", "RoleReconciler", "SpecError",
           "StackSpec", "TableReconciler", "TopicReconciler", "__version__", "load_spec"]
