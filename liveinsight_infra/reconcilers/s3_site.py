"""The bucket's policy, the site's files, and the CloudFront invalidation that follows an upload.

* ``s3.bucket_policy``: ``s3:GetObject`` for the CloudFront service principal, only with
  ``AWS:SourceArn`` = this distribution, and a Deny for any request without TLS. It is applied
  after the distribution exists, because it names it. Public-website mode adds a public-read
  statement.
* ``s3.object``: one per file of ``site/`` plus the generated ``config.json``, uploaded once the
  bucket exists (not after the policy: they upload while the distribution is created). A file is uploaded
  when its MD5 differs from the object's ETag or when the object's headers differ (``Content-Type``,
  ``Cache-Control``, the other stored headers, user metadata, storage class, encryption: a copy onto itself
  changes them and keeps the ETag), and objects no longer in ``site/`` are deleted. One
  ``list_objects_v2`` lists them, one ``head_object`` per object reads its headers.
* ``cloudfront.invalidation``: one invalidation for exactly the paths changed (``/*`` above 15),
  none when nothing changed. It learns them from the objects' outputs (``pending`` while
  planning, ``changed`` once written), which also list the objects this run deletes. The site
  version last invalidated is recorded as a tag on the distribution. So an apply that died
  between upload and invalidation is finished by the next one, which then invalidates ``/*``.
  A new distribution is created once the files are up, with their site version among its tags
  (``cloudfront.py``): it has cached nothing, so this step then writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from .. import naming
from ..constants import MAX_INVALIDATION_PATHS
from ..contract import Event
from ..diff import normalize_policy
from ..errors import from_client_error
from ..plan import UNKNOWN, Change, FieldDiff
from .base import Context, Observed, Outputs, Reconciler, error_code
from .bucket_policy_read import bucket_policy_text
from .cloudfront import TAG_SITE_VERSION, find_distribution, site_version
from .kind_outputs import ObjectOutputs, keys


def bucket_policy(bucket: str, distribution_arn: str, public: bool) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Sid": "CloudFrontReadsThroughOAC", "Effect": "Allow",
         "Principal": {"Service": "cloudfront.amazonaws.com"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{bucket}/*",
         "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}}},
        {"Sid": "DenyWithoutTLS", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
    ]
    if public:
        statements.append({"Sid": "PublicWebsiteRead", "Effect": "Allow", "Principal": "*",
                           "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    return {"Version": "2012-10-17", "Statement": statements}


class BucketPolicyReconciler(Reconciler):
    kind = "s3.bucket_policy"
    depends_on = ("s3.bucket", "cloudfront.distribution")

    def names(self) -> list[str]:
        return [naming.bucket_name(self.spec, self.ctx.account_id)]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        dist = next(iter(self.upstream(outputs, "cloudfront.distribution").values()), {})
        arn = dist.get("arn", UNKNOWN)
        if not isinstance(arn, str):
            return {"policy": UNKNOWN}
        return {"policy": normalize_policy(bucket_policy(name, arn, self.spec.bucket.public_website))}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        if for_destroy:
            return {}  # deleted with the bucket
        name = self.names()[0]
        with self.calling(name, "GetBucketPolicy"):
            policy = bucket_policy_text(self)  # read once, shared with the distribution lookup
        return {} if policy is None else {name: Observed({"policy": normalize_policy(policy)}, {}, True)}

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        text = json.dumps(desired["policy"])
        json.loads(text)  # never send a malformed policy (moto accepts one, then breaks the bucket)
        with self.calling(name, "PutBucketPolicy"):
            self.client("s3").put_bucket_policy(Bucket=name, Policy=text)
        return Observed(dict(desired), {}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        return self.create(name, desired)

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteBucketPolicy", ignore=("NoSuchBucket",)):
            self.client("s3").delete_bucket_policy(Bucket=name)


class ObjectReconciler(Reconciler):
    kind = "s3.object"
    output_keys = keys(ObjectOutputs)
    # Not the bucket policy: an upload needs only the bucket (its public access block and encryption
    # come with it). The policy lets CloudFront read what is uploaded; nothing is served before the
    # distribution exists, and the invalidation still waits for both. So the files upload while the
    # distribution is created, not after it and the policy that names it.
    depends_on = ("s3.bucket",)

    def names(self) -> list[str]:
        return self.ctx.site_keys()

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        f = self.ctx.site()[name]
        # Uploaded without encryption headers, an object takes the bucket's default: SSE-S3 (s3_bucket.py).
        return {"md5": f.md5, **_headers({"ContentType": f.content_type, "CacheControl": f.cache_control,
                                          "ServerSideEncryption": "AES256"})}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        if for_destroy:
            return {}  # the bucket's delete empties it, every version included
        bucket = naming.bucket_name(self.spec, self.ctx.account_id)
        s3 = self.client("s3")

        def listing() -> dict[str, str]:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
            return {o["Key"]: o["ETag"].strip('"') for p in pages for o in p.get("Contents", [])}

        # No bucket yet: no objects (the bucket's own reconciler plans its create).
        listed = self.read(bucket, "ListObjectsV2", listing, absent=("NoSuchBucket",)) or {}

        def read(key: str) -> tuple[str, Observed | None]:
            head = self.read(key, "HeadObject", lambda: s3.head_object(Bucket=bucket, Key=key),
                             absent=("404", "NoSuchKey"))  # None: deleted since the listing
            return key, Observed({"md5": listed[key], **_headers(head)}, {}, True) if head is not None else None

        return {k: o for k, o in self.parallel(read, sorted(listed), limit=16) if o is not None}

    def _bucket_name(self) -> str:
        return naming.bucket_name(self.spec, self.ctx.account_id)

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        f = self.ctx.site()[name]
        with self.calling(name, "PutObject"):
            self.client("s3").put_object(Bucket=self._bucket_name(), Key=name, Body=f.data,
                                         ContentType=f.content_type, CacheControl=f.cache_control)
        return Observed(dict(desired), {}, True)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        return self.create(name, desired)

    def delete(self, name: str, current: Observed) -> None:
        with self.calling(name, "DeleteObject"):
            self.client("s3").delete_object(Bucket=self._bucket_name(), Key=name)

    def output_names(self) -> list[str]:
        """The site's files and the objects this run deletes: a viewer may have either cached."""
        return sorted(set(self.names()) | self.planned)

    def outputs(self, name: str, current: Observed | None) -> ObjectOutputs:
        return {"pending": name in self.planned and name not in self.executed, "changed": name in self.executed,
                "deleted": name not in self.ctx.site()}


# The headers S3 stores with an object and returns on HeadObject (user metadata apart): the tool sets
# Content-Type and Cache-Control, and none of the others, so any other value there is drift.
_STORED_HEADERS = {"content_type": "ContentType", "cache_control": "CacheControl",
                   "content_encoding": "ContentEncoding", "content_disposition": "ContentDisposition",
                   "content_language": "ContentLanguage", "website_redirect": "WebsiteRedirectLocation"}


def _headers(head: Mapping[str, Any]) -> dict[str, Any]:
    """An object's stored headers, user metadata, storage class and encryption, as compared (absent =
    None). HeadObject omits StorageClass for STANDARD objects. An object someone re-encrypted with a
    KMS key is drift: CloudFront's OAC may not be allowed to decrypt it."""
    expires = head.get("ExpiresString") or head.get("Expires")  # ExpiresString: botocore >= 1.34.x only
    return {**{k: head.get(v) or None for k, v in _STORED_HEADERS.items()},
            "expires": str(expires) if expires else None,
            "metadata": dict(head.get("Metadata") or {}), "storage_class": head.get("StorageClass") or "STANDARD",
            "encryption": head.get("ServerSideEncryption")}


def invalidation_paths(objects: Mapping[str, Mapping[str, Any]], root: str) -> list[str]:
    """The paths of the site objects this run writes or deletes (``s3.object`` outputs by key)."""
    keys = sorted(k for k, o in objects.items() if o["pending"] or o["changed"])
    paths = [f"/{k}" for k in keys]
    if root in keys:
        paths.insert(0, "/")  # the root object is also cached under "/"
    return paths


def invalidation_reference(version: str, paths: list[str]) -> str:
    """The CallerReference of one batch: the same site version and path set, the same reference."""
    digest = hashlib.sha256("\n".join(sorted(set(paths))).encode()).hexdigest()[:12]
    return f"liveinsight-{version}-{digest}"


class InvalidationReconciler(Reconciler):
    kind = "cloudfront.invalidation"
    adoptable = False  # a request on the stack's own distribution, not a resource
    depends_on = ("s3.object", "cloudfront.distribution")

    def __init__(self, ctx: Context):
        super().__init__(ctx)
        self._tagged: dict[str, bool] = {}  # the distribution already carries this site version

    def names(self) -> list[str]:
        return ["site"]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        dist = next(iter(self.upstream(outputs, "cloudfront.distribution").values()), {})
        version = site_version(self.ctx.site())
        self._tagged[name] = isinstance(dist.get("id"), str) and dist.get("site_version") == version
        if not isinstance(dist.get("id"), str) or dist.get("created"):
            paths: list[str] = []  # a new distribution has nothing cached
        elif dist.get("site_version") == version:
            paths = []
        else:
            objects = self.upstream(outputs, "s3.object")
            paths = invalidation_paths(objects, self.spec.distribution.default_root_object)
            if not paths or len(paths) > MAX_INVALIDATION_PATHS:
                paths = ["/*"]  # an earlier apply uploaded without invalidating, or many files changed
        return {"distribution_id": dist.get("id", UNKNOWN), "distribution_arn": dist.get("arn", UNKNOWN),
                "site_version": version, "paths": paths}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        if for_destroy:
            return {}
        found = find_distribution(self)
        if found is None:
            return {}
        state = {"distribution_id": found["Id"], "distribution_arn": found["ARN"],
                 "site_version": found["Tags"].get(TAG_SITE_VERSION), "paths": []}
        return {"site": Observed(state, {}, False)}

    def plan(self, outputs: Outputs, destroy: bool = False) -> list[Change]:
        return [] if destroy else super().plan(outputs, destroy)

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        if not desired["paths"] and self._tagged.get(name):  # a distribution created with this version
            return Observed({**desired, "paths": []}, {}, False)
        return self.update(name, desired, Observed({"paths": []}, {}, False), ())

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        cf = self.client("cloudfront")
        dist_id = desired["distribution_id"]
        if desired["paths"]:
            self._invalidate(dist_id, desired["site_version"], desired["paths"])
        with self.calling(dist_id, "TagResource"):
            cf.tag_resource(Resource=desired["distribution_arn"],
                            Tags={"Items": [{"Key": TAG_SITE_VERSION, "Value": desired["site_version"]}]})
        return Observed({**desired, "paths": []}, {}, False)

    def _invalidate(self, dist_id: str, version: str, paths: list[str]) -> None:
        """One invalidation whose CallerReference names the site version and the exact path set.

        Sent again after a lost answer, the same batch gets the same reference, and CloudFront
        returns the first invalidation instead of making another. A reference CloudFront knows with
        other paths (InvalidationBatchAlreadyExists) cannot come from this scheme, but an older
        one made them: then everything is invalidated under a reference of its own, and if even that
        exists, this site version was already invalidated in full. See
        https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_CreateInvalidation.html
        """
        for batch in (paths, ["/*"]):
            try:
                self.client("cloudfront").create_invalidation(DistributionId=dist_id, InvalidationBatch={
                    "Paths": {"Quantity": len(batch), "Items": batch},
                    "CallerReference": invalidation_reference(version, batch)})
                return
            except ClientError as exc:
                if error_code(exc) != "InvalidationBatchAlreadyExists":
                    raise from_client_error(f"{self.kind} {dist_id}", "CreateInvalidation", exc) from exc
                if batch == ["/*"]:
                    return
                self.ctx.emit(Event("note", f"{self.kind} {dist_id}: reference {invalidation_reference(version, batch)}"
                                            " is taken by another batch; invalidating /* instead"))

    def delete(self, name: str, current: Observed) -> None:
        return None  # an invalidation is not a resource; nothing to delete
