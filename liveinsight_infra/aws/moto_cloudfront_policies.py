"""CloudFront response headers policies for moto, which has no such API (docs/moto-gaps.md).

moto 5.2 answers ``CreateResponseHeadersPolicy`` and its siblings with a bare 404, so a stack
with a security-headers policy could not be applied to the embedded backend (``--moto``,
``serve``, the tests). This adds the five calls the tool makes, with AWS's documented
behaviour (https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateResponseHeadersPolicy.html):
names are unique per account (``ResponseHeadersPolicyAlreadyExists``), writes need the current
ETag (``PreconditionFailed``), and a policy a distribution still uses cannot be deleted
(``ResponseHeadersPolicyInUse``). moto routes by the botocore model, so only the URL paths
and the handlers are added. The AWS flow itself is tested with botocore's Stubber.
"""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime
from typing import Any

_PATCHED = False
_API = "{0}/2020-05-31/response-headers-policy"


def _store(backend: Any) -> dict[str, dict[str, Any]]:
    # Kept on the backend object, so moto's reset (a new backend) forgets it like everything else.
    store: dict[str, dict[str, Any]] = backend.__dict__.setdefault("_liveinsight_rhp", {})
    return store


def _error(code: str, message: str) -> Exception:
    from moto.cloudfront.exceptions import CloudFrontException
    return CloudFrontException(code, message)


def _policy(p: dict[str, Any]) -> dict[str, Any]:
    return {"Id": p["Id"], "LastModifiedTime": p["LastModifiedTime"],
            "ResponseHeadersPolicyConfig": copy.deepcopy(p["Config"])}


def apply_response_headers_policy_patch() -> None:
    """Idempotent: give moto's CloudFront the response headers policy calls."""
    global _PATCHED
    if _PATCHED:
        return
    from moto.cloudfront import urls
    from moto.cloudfront.responses import CloudFrontResponse
    from moto.core.responses import ActionResult, EmptyResult

    def found(self: Any) -> dict[str, Any]:
        policy = _store(self.backend).get(self._get_param("Id"))
        if policy is None:
            raise _error("NoSuchResponseHeadersPolicy", "The response headers policy does not exist.")
        return policy

    def check_etag(self: Any, policy: dict[str, Any]) -> None:
        if self._get_param("IfMatch") != policy["ETag"]:
            raise _error("PreconditionFailed", "The If-Match version is missing or not valid for the resource.")

    def answer(policy: dict[str, Any]) -> Any:
        return ActionResult({"ResponseHeadersPolicy": _policy(policy), "ETag": policy["ETag"]})

    def create(self: Any) -> Any:
        config = self._get_param("ResponseHeadersPolicyConfig", {})
        store = _store(self.backend)
        if any(p["Config"].get("Name") == config.get("Name") for p in store.values()):
            raise _error("ResponseHeadersPolicyAlreadyExists",
                         "A response headers policy with this name already exists.")
        policy = {"Id": str(uuid.uuid4()), "ETag": uuid.uuid4().hex[:14].upper(), "Config": config,
                  "LastModifiedTime": datetime.now(UTC)}
        store[policy["Id"]] = policy
        result = answer(policy)
        result.result["Location"] = f"https://cloudfront.amazonaws.com/2020-05-31/response-headers-policy/{policy['Id']}"
        return result

    def get(self: Any) -> Any:
        return answer(found(self))

    def list_(self: Any) -> Any:
        if self._get_param("Type") == "managed":
            items: list[dict[str, Any]] = []
        else:
            items = [{"Type": "custom", "ResponseHeadersPolicy": _policy(p)} for p in _store(self.backend).values()]
        return ActionResult({"ResponseHeadersPolicyList": {"MaxItems": 100, "Quantity": len(items),
                                                            "Items": items}})

    def update(self: Any) -> Any:
        policy = found(self)
        check_etag(self, policy)
        policy.update(Config=self._get_param("ResponseHeadersPolicyConfig", {}),
                      ETag=uuid.uuid4().hex[:14].upper(), LastModifiedTime=datetime.now(UTC))
        return answer(policy)

    def delete(self: Any) -> Any:
        policy = found(self)
        check_etag(self, policy)
        for dist in self.backend.distributions.values():
            cfg = dist.distribution_config
            behaviors = [cfg.DefaultCacheBehavior, *(cfg.CacheBehaviors.get("Items") or [])]
            if any(getattr(b, "response_headers_policy_id", None) == policy["Id"] for b in behaviors):
                raise _error("ResponseHeadersPolicyInUse", "Cannot delete, this policy is in use.")
        del _store(self.backend)[policy["Id"]]
        return EmptyResult()

    for name, handler in (("create_response_headers_policy", create), ("get_response_headers_policy", get),
                          ("list_response_headers_policies", list_),
                          ("update_response_headers_policy", update),
                          ("delete_response_headers_policy", delete)):
        setattr(CloudFrontResponse, name, handler)
    urls.url_paths[_API + "$"] = CloudFrontResponse.dispatch
    urls.url_paths[_API + "/(?P<policy_id>[^/]+)$"] = CloudFrontResponse.dispatch
    _PATCHED = True
