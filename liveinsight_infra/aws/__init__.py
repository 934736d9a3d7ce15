"""AWS access: the client provider, call counting and named retries (the embedded moto backend is
liveinsight_infra_moto, outside the library)."""

from .provider import AwsProvider, CallCounter, is_read
from .retry import IAM_PROPAGATION, LAMBDA_CONFLICT, RetryRule, with_retries

__all__ = ["IAM_PROPAGATION", "LAMBDA_CONFLICT", "AwsProvider", "CallCounter", "RetryRule", "is_read",
           "with_retries"]
