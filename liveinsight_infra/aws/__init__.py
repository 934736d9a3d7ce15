"""AWS access: the client provider, call counting, named retries and the embedded moto backend."""

from .provider import AwsProvider, CallCounter, is_read
from .retry import IAM_PROPAGATION, LAMBDA_CONFLICT, RetryRule, with_retries

__all__ = ["IAM_PROPAGATION", "LAMBDA_CONFLICT", "AwsProvider", "CallCounter", "RetryRule", "is_read",
           "with_retries"]
