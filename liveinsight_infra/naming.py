"""Deterministic names and ownership tags: how a stack finds its resources again without state."""

from __future__ import annotations

import hashlib
import json

from .constants import CHECK_SITE
from .spec.model import StackSpec

MANAGED_BY = "liveinsight-infra"
TAG_STACK = "liveinsight:stack"
TAG_MANAGED_BY = "liveinsight:managed-by"


def stack_id(spec: StackSpec) -> str:
    return f"{spec.project}-{spec.environment}"


def ownership_tags(spec: StackSpec) -> dict[str, str]:
    return {TAG_STACK: stack_id(spec), TAG_MANAGED_BY: MANAGED_BY}


def resource_tags(spec: StackSpec) -> dict[str, str]:
    """The tags every resource of the stack carries: the user's, then ours (which win)."""
    return {**spec.tags, "environment": spec.environment, **ownership_tags(spec)}


def is_owned(spec: StackSpec, tags: dict[str, str] | None) -> bool:
    return bool(tags) and (tags or {}).get(TAG_STACK) == stack_id(spec)


def function_name(spec: StackSpec, key: str) -> str:
    return f"{spec.project}-{key}-{spec.environment}"


def role_name(spec: StackSpec, key: str) -> str:
    return f"{spec.project}-{key}-{spec.environment}"


def role_path(spec: StackSpec) -> str:
    return f"/{stack_id(spec)}/"


def boundary_name(spec: StackSpec) -> str:
    """The stack's permissions-boundary policy (kept at the roles' path, so one prefix covers both)."""
    return f"{spec.project}-boundary-{spec.environment}"


def boundary_arn(spec: StackSpec, account_id: str) -> str:
    return f"arn:aws:iam::{account_id}:policy{role_path(spec)}{boundary_name(spec)}"


def table_name(spec: StackSpec) -> str:
    return f"{spec.project}-events-{spec.environment}"


def api_name(spec: StackSpec) -> str:
    return f"{spec.project}-api-{spec.environment}"


def function_log_group(spec: StackSpec, key: str) -> str:
    return f"/aws/lambda/{function_name(spec, key)}"


def api_log_group(spec: StackSpec) -> str:
    return f"/aws/apigateway/{api_name(spec)}"


def alarm_prefix(spec: StackSpec) -> str:
    return f"{stack_id(spec)}-"


def alarm_name(spec: StackSpec, short: str) -> str:
    return f"{alarm_prefix(spec)}{short}"


def topic_name(spec: StackSpec) -> str:
    return f"{spec.project}-alerts-{spec.environment}"


def bucket_name(spec: StackSpec, account_id: str) -> str:
    """``{project}-static-{env}-{8 hex}``: the suffix is a digest of account, region and stack."""
    digest = hashlib.sha256(f"{account_id}:{spec.region}:{stack_id(spec)}".encode()).hexdigest()[:8]
    return f"{spec.project}-static-{spec.environment}-{digest}"


LAMBDA_SID_PREFIX = "liveinsight-api-"


def statement_id(method: str, path: str) -> str:
    """The ``StatementId`` of the Lambda permission that lets API Gateway call one route."""
    return f"{LAMBDA_SID_PREFIX}{method}-{path.strip('/').replace('/', '-')}"


def function_environment(spec: StackSpec, key: str) -> dict[str, str]:
    """A function's variables: the spec's, then those the tool sets (CORS, table, stack)."""
    cors = spec.api.cors
    return {**spec.functions[key].environment,
            "LIVEINSIGHT_STACK": stack_id(spec),
            "LIVEINSIGHT_TABLE": table_name(spec),
            "LIVEINSIGHT_EVENT_TTL_DAYS": str(spec.table.event_ttl_days),
            "LIVEINSIGHT_COUNTER_SHARDS": str(spec.table.counter_shards),
            "LIVEINSIGHT_TRUST_FORWARDED_FOR": "true" if spec.api.trust_forwarded_for else "false",
            "LIVEINSIGHT_CORS_ALLOW_ORIGINS": ",".join(cors.allow_origins),
            "LIVEINSIGHT_CORS_ALLOW_HEADERS": ",".join(cors.allow_headers),
            "LIVEINSIGHT_CORS_ALLOW_METHODS": ",".join(cors.allow_methods),
            "LIVEINSIGHT_CORS_MAX_AGE": str(cors.max_age_s),
            "LIVEINSIGHT_SITES": sites_variable(spec),
            "LIVEINSIGHT_CAPS": caps_variable(spec),
            **_ingest_environment(spec, key)}


def sites_variable(spec: StackSpec, extra: tuple[str, ...] = ()) -> str:
    """The accepted domains, each with the site its events count under (handlers/shared/sites.py):
    a variable, so adding a site is a configuration update of the functions, not new code. The
    health check's reserved domain (``CHECK_SITE``) is always accepted, so ``check`` works."""
    accepted = {d: s.domain for s in spec.sites for d in (s.domain, *s.aliases)}
    accepted.update({d: d for d in (*extra, CHECK_SITE) if d not in accepted})
    return json.dumps(accepted, separators=(",", ":"), sort_keys=True)


def caps_variable(spec: StackSpec) -> str:
    """The spec's caps (handlers/shared/caps.py)."""
    return json.dumps(spec.caps.model_dump(), separators=(",", ":"), sort_keys=True)


def _ingest_environment(spec: StackSpec, key: str) -> dict[str, str]:
    """The collector of a stream stack puts events on the stream instead of writing them."""
    if not spec.streamed or key != spec.ingest.collector:
        return {}
    return {"LIVEINSIGHT_INGEST": "stream", "LIVEINSIGHT_STREAM": stream_name(spec)}
def stream_name(spec: StackSpec) -> str:
    """The Kinesis stream of the stream ingest path (ingest: stream)."""
    return f"{spec.project}-ingest-{spec.environment}"


def origin_secret_parameter(spec: StackSpec) -> str:
    """The SSM SecureString that holds the origin secret CloudFront sends the API (X-Origin-Verify)."""
    return f"/{stack_id(spec)}/origin-secret"


def web_acl_name(spec: StackSpec) -> str:
    """The WAF web ACL of the distribution (distribution.waf)."""
    return f"{stack_id(spec)}-edge"


def failure_queue_name(spec: StackSpec) -> str:
    """The SQS queue that receives the records the aggregator could not process."""
    return f"{spec.project}-ingest-failures-{spec.environment}"
