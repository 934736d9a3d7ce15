"""The bucket's policy, the site's files, and the CloudFront invalidation that follows an upload.

* ``s3.bucket_policy``: ``s3:GetObject`` for the CloudFront service principal, only with
  ``AWS:SourceArn`` = this distribution, and a Deny for any request without TLS. It is applied
  after the distribution exists, because it names it. Public-website mode adds a public-read
  statement.
* ``s3.object``: one per file of ``site/`` plus the generated ``config.json``. A file is uploaded
  only when its MD5 differs from the object's ETag, and objects no longer in ``site/`` are deleted.
  One ``list_objects_v2`` reads them all.
* ``cloudfront.invalidation``: one invalidation for exactly the paths changed (``/*`` above 15),
  none when nothing changed. The site version last invalidated is recorded as a tag on the
  distribution. So an apply that died between upload and invalidation is finished by the next
  one, which then invalidates ``/*``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .. import naming
from ..constants import MAX_INVALIDATION_PATHS
from ..diff import normalize_policy
from ..plan import UNKNOWN, Change, FieldDiff
from .base import Observed, Outputs, Reconciler
from .cloudfront import TAG_SITE_VERSION, find_distribution


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


def _bucket(outputs: Outputs) -> dict[str, Any]:
    return next(iter(outputs.get("s3.bucket", {}).values()), {})


class BucketPolicyReconciler(Reconciler):
    kind = "s3.bucket_policy"
    depends_on = ("s3.bucket", "cloudfront.distribution")

    def names(self) -> list[str]:
        return [naming.bucket_name(self.spec, self.ctx.account_id)]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        dist = next(iter(outputs.get("cloudfront.distribution", {}).values()), {})
        arn = dist.get("arn", UNKNOWN)
        if not isinstance(arn, str):
            return {"policy": UNKNOWN}
        return {"policy": normalize_policy(bucket_policy(name, arn, self.spec.bucket.public_website))}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        if for_destroy:
            return {}  # deleted with the bucket
        name = self.names()[0]
        with self.calling(name, "GetBucketPolicy", ignore=("NoSuchBucketPolicy", "NoSuchBucket")):
            policy = self.client("s3").get_bucket_policy(Bucket=name)["Policy"]
            return {name: Observed({"policy": normalize_policy(policy)}, {}, True)}
        return {}

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
    depends_on = ("s3.bucket", "s3.bucket_policy")

    def names(self) -> list[str]:
        return self.ctx.site_keys()

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        f = self.ctx.site()[name]
        return {"md5": f.md5}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        if for_destroy:
            return {}  # the bucket's delete empties it, every version included
        bucket = naming.bucket_name(self.spec, self.ctx.account_id)
        found: dict[str, Observed] = {}
        with self.calling(bucket, "ListObjectsV2", ignore=("NoSuchBucket",)):
            for page in self.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for obj in page.get("Contents", []):
                    found[obj["Key"]] = Observed({"md5": obj["ETag"].strip('"')}, {}, True)
        return found

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

    def outputs(self, name: str, current: Observed | None) -> dict[str, Any]:
        return {"pending": name in self.planned and name not in self.executed, "changed": name in self.executed}

    def changed_paths(self) -> list[str]:
        """Paths a viewer may have cached that this run's plan changes (deletions included)."""
        keys = sorted(self.planned)
        root = self.spec.distribution.default_root_object
        paths = [f"/{k}" for k in keys]
        if root in keys:
            paths.insert(0, "/")  # the root object is also cached under "/"
        return paths


def site_version(files: dict[str, Any]) -> str:
    digest = hashlib.sha256()
    for key in sorted(files):
        digest.update(f"{key}\0{files[key].md5}\n".encode())
    return digest.hexdigest()[:16]


class InvalidationReconciler(Reconciler):
    kind = "cloudfront.invalidation"
    depends_on = ("s3.object", "cloudfront.distribution")

    def __init__(self, ctx: Any):
        super().__init__(ctx)
        self.objects: ObjectReconciler | None = None  # set by the engine's registry wiring

    def names(self) -> list[str]:
        return ["site"]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        dist = next(iter(outputs.get("cloudfront.distribution", {}).values()), {})
        version = site_version(self.ctx.site())
        if not isinstance(dist.get("id"), str) or dist.get("created"):
            paths: list[str] = []  # a new distribution has nothing cached
        elif dist.get("site_version") == version:
            paths = []
        else:
            paths = self.objects.changed_paths() if self.objects is not None else []
            if not paths or len(paths) > MAX_INVALIDATION_PATHS:
                paths = ["/*"]  # an earlier apply uploaded without invalidating, or many files changed
        return {"distribution_id": dist.get("id", UNKNOWN), "site_version": version, "paths": paths}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        if for_destroy:
            return {}
        found = find_distribution(self)
        if found is None:
            return {}
        state = {"distribution_id": found["Id"], "site_version": found["Tags"].get(TAG_SITE_VERSION), "paths": []}
        return {"site": Observed(state, {"arn": found["ARN"]}, False)}

    def plan(self, outputs: Outputs, destroy: bool = False) -> list[Change]:
        return [] if destroy else super().plan(outputs, destroy)

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        dist = self.ctx.__dict__.get("_memo", {}).get("distribution")
        arn = dist["ARN"] if dist and dist.get("Id") == desired["distribution_id"] else None
        return self.update(name, desired, Observed({"paths": []}, {"arn": arn}, False), ())

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        cf = self.client("cloudfront")
        dist_id = desired["distribution_id"]
        if desired["paths"]:
            with self.calling(dist_id, "CreateInvalidation"):
                cf.create_invalidation(DistributionId=dist_id, InvalidationBatch={
                    "Paths": {"Quantity": len(desired["paths"]), "Items": desired["paths"]},
                    "CallerReference": f"liveinsight-{desired['site_version']}-{len(self.executed)}"})
        # A distribution's ARN follows from its id and the account (no GetDistribution round trip):
        # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoncloudfront.html
        arn = current.meta.get("arn") or f"arn:aws:cloudfront::{self.ctx.account_id}:distribution/{dist_id}"
        with self.calling(dist_id, "TagResource"):
            cf.tag_resource(Resource=arn, Tags={"Items": [{"Key": TAG_SITE_VERSION, "Value": desired["site_version"]}]})
        return Observed({**desired, "paths": []}, {"arn": arn}, False)

    def delete(self, name: str, current: Observed) -> None:
        return None  # an invalidation is not a resource; nothing to delete
