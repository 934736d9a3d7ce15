"""CloudFront response headers and origin request policies for moto, which has no such APIs
(docs/moto-gaps.md).

moto 5.2 answers ``CreateResponseHeadersPolicy``, ``CreateOriginRequestPolicy`` and their siblings
with a bare 404, so a stack with a security-headers policy and an origin request policy of its own
could not be applied to the embedded backend (``--moto``, ``serve``, the tests). This adds the five
calls of each that the tool makes, with AWS's documented behaviour
(https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateResponseHeadersPolicy.html,
https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateOriginRequestPolicy.html):
names are unique per account (``…AlreadyExists``), writes need the current ETag
(``PreconditionFailed``), and a policy a distribution still uses cannot be deleted (``…InUse``).
moto routes by the botocore model, so only the URL paths and the handlers are added. The AWS flow
itself is tested with botocore's Stubber.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_PATCHED: set[str] = set()


@dataclass(frozen=True)
class _Kind:
    """One policy API: its shape names, URL path, error codes and the behaviors' attribute naming it."""

    shape: str            # ResponseHeadersPolicy / OriginRequestPolicy
    snake: str            # response_headers_policy / origin_request_policy
    plural: str           # response_headers_policies / origin_request_policies
    path: str             # response-headers-policy / origin-request-policy
    words: str            # for the messages: "response headers policy"

    @property
    def store_key(self) -> str:
        return f"_liveinsight_{self.snake}"


RESPONSE_HEADERS = _Kind("ResponseHeadersPolicy", "response_headers_policy", "response_headers_policies",
                         "response-headers-policy", "response headers policy")
ORIGIN_REQUEST = _Kind("OriginRequestPolicy", "origin_request_policy", "origin_request_policies",
                       "origin-request-policy", "origin request policy")


def _store(backend: Any, kind: _Kind) -> dict[str, dict[str, Any]]:
    # Kept on the backend object, so moto's reset (a new backend) forgets it like everything else.
    store: dict[str, dict[str, Any]] = backend.__dict__.setdefault(kind.store_key, {})
    return store


def _error(code: str, message: str) -> Exception:
    from moto.cloudfront.exceptions import CloudFrontException
    return CloudFrontException(code, message)


def _policy(kind: _Kind, p: dict[str, Any]) -> dict[str, Any]:
    return {"Id": p["Id"], "LastModifiedTime": p["LastModifiedTime"], f"{kind.shape}Config": copy.deepcopy(p["Config"])}


def _patch(kind: _Kind) -> None:
    if kind.shape in _PATCHED:
        return
    from moto.cloudfront import urls
    from moto.cloudfront.responses import CloudFrontResponse
    from moto.core.responses import ActionResult, EmptyResult

    config_key = f"{kind.shape}Config"

    def found(self: Any) -> dict[str, Any]:
        policy = _store(self.backend, kind).get(self._get_param("Id"))
        if policy is None:
            raise _error(f"NoSuch{kind.shape}", f"The {kind.words} does not exist.")
        return policy

    def check_etag(self: Any, policy: dict[str, Any]) -> None:
        if self._get_param("IfMatch") != policy["ETag"]:
            raise _error("PreconditionFailed", "The If-Match version is missing or not valid for the resource.")

    def answer(policy: dict[str, Any]) -> Any:
        return ActionResult({kind.shape: _policy(kind, policy), "ETag": policy["ETag"]})

    def create(self: Any) -> Any:
        config = self._get_param(config_key, {})
        store = _store(self.backend, kind)
        if any(p["Config"].get("Name") == config.get("Name") for p in store.values()):
            raise _error(f"{kind.shape}AlreadyExists", f"A {kind.words} with this name already exists.")
        policy = {"Id": str(uuid.uuid4()), "ETag": uuid.uuid4().hex[:14].upper(), "Config": config,
                  "LastModifiedTime": datetime.now(UTC)}
        store[policy["Id"]] = policy
        result = answer(policy)
        result.result["Location"] = f"https://cloudfront.amazonaws.com/2020-05-31/{kind.path}/{policy['Id']}"
        return result

    def get(self: Any) -> Any:
        return answer(found(self))

    def list_(self: Any) -> Any:
        if self._get_param("Type") == "managed":
            items: list[dict[str, Any]] = []
        else:
            items = [{"Type": "custom", kind.shape: _policy(kind, p)} for p in _store(self.backend, kind).values()]
        return ActionResult({f"{kind.shape}List": {"MaxItems": 100, "Quantity": len(items), "Items": items}})

    def update(self: Any) -> Any:
        policy = found(self)
        check_etag(self, policy)
        policy.update(Config=self._get_param(config_key, {}),
                      ETag=uuid.uuid4().hex[:14].upper(), LastModifiedTime=datetime.now(UTC))
        return answer(policy)

    def delete(self: Any) -> Any:
        policy = found(self)
        check_etag(self, policy)
        for dist in self.backend.distributions.values():
            cfg = dist.distribution_config
            behaviors = [cfg.DefaultCacheBehavior, *(cfg.CacheBehaviors.get("Items") or [])]
            if any(getattr(b, f"{kind.snake}_id", None) == policy["Id"] for b in behaviors):
                raise _error(f"{kind.shape}InUse", "Cannot delete, this policy is in use.")
        del _store(self.backend, kind)[policy["Id"]]
        return EmptyResult()

    for name, handler in ((f"create_{kind.snake}", create), (f"get_{kind.snake}", get),
                          (f"list_{kind.plural}", list_), (f"update_{kind.snake}", update),
                          (f"delete_{kind.snake}", delete)):
        setattr(CloudFrontResponse, name, handler)
    api = "{0}/2020-05-31/" + kind.path
    urls.url_paths[api + "$"] = CloudFrontResponse.dispatch
    urls.url_paths[api + "/(?P<policy_id>[^/]+)$"] = CloudFrontResponse.dispatch
    _PATCHED.add(kind.shape)


def apply_response_headers_policy_patch() -> None:
    """Idempotent: give moto's CloudFront the response headers policy calls."""
    _patch(RESPONSE_HEADERS)


def apply_origin_request_policy_patch() -> None:
    """Idempotent: give moto's CloudFront the origin request policy calls."""
    _patch(ORIGIN_REQUEST)
