"""One reconciler class per AWS resource kind; ``registry.ordered_kinds()`` fixes their order."""

from .alarms import AlarmReconciler
from .base import Observed, Reconciler
from .dynamodb import TableReconciler
from .iam import RoleReconciler
from .lambda_ import FunctionReconciler
from .logs import LogGroupReconciler
from .registry import ordered_kinds
from .sns import TopicReconciler

__all__ = ["AlarmReconciler", "FunctionReconciler", "LogGroupReconciler", "Observed", "Reconciler",
           "RoleReconciler", "TableReconciler", "TopicReconciler", "ordered_kinds"]
