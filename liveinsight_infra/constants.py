"""AWS constants the specs refer to by name: one table, with where each value comes from."""

from __future__ import annotations

# CloudFront managed policies, by name (specs name them; AWS wants ids).
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
# Note: 4135ea2d-… is CachingDisabled (the original plan mislabelled it CachingOptimized).
CACHE_POLICIES = {
    "CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    "CachingDisabled": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
}
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-origin-request-policies.html
# AllViewerExceptHostHeader: API Gateway answers 403 when it gets the viewer's Host header. It sends
# no CloudFront-Viewer-* header, hence the stack's own policy (reconcilers/origin_request.py), which
# the spec calls "stack" (not in this table: its id is known once it exists).
ORIGIN_REQUEST_POLICIES = {
    "AllViewerExceptHostHeader": "b689b0a8-53d0-40ab-baf2-68738e2966ac",
}
# Headers per origin request policy (a quota): 10.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html
MAX_ORIGIN_REQUEST_POLICY_HEADERS = 10
ALL_METHODS = ("GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE")
CACHED_METHODS = ("GET", "HEAD")
# At most 15 wildcard paths may be in progress; past that many paths one "/*" is cheaper anyway.
MAX_INVALIDATION_PATHS = 15
# The origin secret: CloudFront adds it to every request for the API (an origin custom header), and
# the functions believe CloudFront's viewer headers only with it. The stage variable lists the
# SHA-256 digests of the secrets accepted now. handlers/shared/visitors.py uses the same two names.
# https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/add-origin-custom-headers.html
ORIGIN_HEADER = "X-Origin-Verify"
ORIGIN_DIGESTS_VARIABLE = "liveinsightOriginVerify"
# With ingest.front: function_url there is no stage: the collector reads the digests from its environment.
ORIGIN_DIGESTS_ENV = "LIVEINSIGHT_ORIGIN_DIGESTS"

# The domain `check` posts its test event for: .invalid is reserved (RFC 2606), never a real site.
# Every stack accepts it beside the spec's sites, so the health check works on any stack.
CHECK_SITE = "check.liveinsight.invalid"
