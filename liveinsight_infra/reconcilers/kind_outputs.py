"""What each resource kind gives its dependants: one TypedDict per kind, the only channel between them.

A value may be ``UNKNOWN`` (``plan.py``) until the resource exists, hence ``Any``. Reconcilers read
them with ``Reconciler.upstream()``, which refuses a key not named here.
"""

from __future__ import annotations

from typing import Any, TypedDict


class AlarmOutputs(TypedDict):
    name: str
    state: Any


class RestApiOutputs(TypedDict):
    id: Any
    name: str
    execution_arn: Any
    definition_hash: str
    revision: Any  # what the stage deploys; "+redeploy" once this run changed the API


class StageOutputs(TypedDict, total=False):  # only invoke_url (UNKNOWN) before the stage exists
    invoke_url: Any
    deployment_id: Any
    api_id: Any


class OacOutputs(TypedDict):
    id: Any


class ResponseHeadersPolicyOutputs(TypedDict):
    id: Any


class OriginRequestPolicyOutputs(TypedDict):
    id: Any


class DistributionOutputs(TypedDict, total=False):  # no site_version before the distribution exists
    id: Any
    arn: Any
    domain: Any
    site_version: Any
    created: bool


class ArnOutputs(TypedDict):  # the permissions boundary
    arn: str


class NameArnOutputs(TypedDict):  # tables, roles, log groups, topics
    name: str
    arn: str


class FunctionOutputs(TypedDict):
    name: str
    arn: str
    alias_arn: str
    live_version: Any


class MappingOutputs(TypedDict):  # the stream's event source mapping
    uuid: Any


class BucketOutputs(TypedDict):
    name: str
    arn: str
    regional_domain: str
    website_endpoint: str


class ObjectOutputs(TypedDict):
    """One site object. Objects this run deletes are listed too, while it runs, with ``deleted``:
    the invalidation must cover their paths as well."""

    pending: bool  # this run's plan writes (uploads or deletes) it, not done yet
    changed: bool  # this run wrote it
    deleted: bool  # no longer in the site: this run deletes it


class OriginSecretOutputs(TypedDict):
    value: Any  # a Sensitive: the secret CloudFront sends (liveinsight_infra/sensitive.py)
    digests: str  # the SHA-256 digests of the secrets the functions accept, comma-separated


class FunctionUrlOutputs(TypedDict):
    url: Any  # https://{id}.lambda-url.{region}.on.aws/
    domain: Any  # its host: the distribution's event origin


class WebAclOutputs(TypedDict):
    arn: Any  # what the distribution's WebACLId names


class UsagePlanOutputs(TypedDict):
    usage_plan_id: Any
    api_key_id: Any


def keys(outputs: type) -> frozenset[str]:
    """The keys a TypedDict declares (what ``Reconciler.output_keys`` holds)."""
    return frozenset(outputs.__annotations__)
