"""The private bucket that holds the dashboard.

It is named ``{project}-static-{env}-{8 hex}``, with the suffix derived from account, region and
stack, so the same spec always finds the same bucket. It has all four Block Public Access flags,
SSE-S3, ``BucketOwnerEnforced``, versioning and tags. moto creates buckets without AWS's secure
defaults, so everything is put explicitly, and a "not found" configuration reads as unset. The
policy is its own kind (``s3.bucket_policy``), because it names the distribution.

Public-website mode (the original plan's S3 website, off by default) relaxes two Block Public
Access flags and adds a website configuration.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import naming
from ..diff import dict_to_tag_list, fields_of, tag_list_to_dict, user_tags
from ..errors import LiveInsightError
from ..plan import FieldDiff
from .base import Observed, Outputs, Reconciler
from .kind_outputs import BucketOutputs, keys

ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
               "RestrictPublicBuckets": True}
# Public-website mode: ACLs stay blocked; only a public *policy* is allowed.
WEBSITE_BLOCK = {**ALL_BLOCKED, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}


class BucketReconciler(Reconciler):
    kind = "s3.bucket"
    output_keys = keys(BucketOutputs)
    replace_fields = frozenset({"region"})

    def names(self) -> list[str]:
        return [naming.bucket_name(self.spec, self.ctx.account_id)]

    def desired(self, name: str, outputs: Outputs) -> dict[str, Any]:
        website = self.spec.bucket.public_website
        return {"region": self.spec.region,
                "public_access_block": WEBSITE_BLOCK if website else ALL_BLOCKED,
                "encryption": "AES256", "ownership": "BucketOwnerEnforced",
                "versioning": "Enabled" if self.spec.bucket.versioning else "Suspended",
                "website_index": self.spec.distribution.default_root_object if website else None,
                "tags": naming.resource_tags(self.spec)}

    def observe(self, for_destroy: bool = False) -> dict[str, Observed]:
        s3 = self.client("s3")
        name = self.names()[0]
        head = self.read(name, "HeadBucket", lambda: s3.head_bucket(Bucket=name),
                         absent=("404", "NoSuchBucket", "NotFound"))
        if head is None:
            return {}

        def first_rule(rules: list[dict[str, Any]]) -> dict[str, Any]:
            return rules[0] if rules else {}

        # Each setting's read, the code S3 answers when the setting is not there (None then), and
        # what to keep of the answer.
        settings: list[tuple[str, Callable[[], Any], str, Callable[[Any], Any]]] = [
            ("GetPublicAccessBlock", lambda: s3.get_public_access_block(Bucket=name),
             "NoSuchPublicAccessBlockConfiguration", lambda r: r["PublicAccessBlockConfiguration"]),
            ("GetBucketEncryption", lambda: s3.get_bucket_encryption(Bucket=name),
             "ServerSideEncryptionConfigurationNotFoundError",
             lambda r: first_rule(r["ServerSideEncryptionConfiguration"]["Rules"])
             .get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm")),
            ("GetBucketOwnershipControls", lambda: s3.get_bucket_ownership_controls(Bucket=name),
             "OwnershipControlsNotFoundError",
             lambda r: first_rule(r["OwnershipControls"]["Rules"]).get("ObjectOwnership")),
            ("GetBucketVersioning", lambda: s3.get_bucket_versioning(Bucket=name), "-",
             lambda r: r.get("Status", "Suspended")),
            ("GetBucketWebsite", lambda: s3.get_bucket_website(Bucket=name), "NoSuchWebsiteConfiguration",
             lambda r: r.get("IndexDocument", {}).get("Suffix")),
            ("GetBucketTagging", lambda: s3.get_bucket_tagging(Bucket=name), "NoSuchTagSet",
             lambda r: tag_list_to_dict(r.get("TagSet")))]

        def read(setting: tuple[str, Callable[[], Any], str, Callable[[Any], Any]]) -> Any:
            op, call, missing, pick = setting
            found = self.read(name, op, call, absent=(missing,))
            return pick(found) if found is not None else None

        pab, enc, own, ver, web, tags = self.parallel(read, settings)
        region = head.get("BucketRegion") or (head.get("ResponseMetadata", {}).get("HTTPHeaders", {})
                                              .get("x-amz-bucket-region")) or self.spec.region
        state = {"region": region, "public_access_block": pab or {k: False for k in ALL_BLOCKED},
                 "encryption": enc, "ownership": own, "versioning": ver or "Suspended", "website_index": web,
                 "tags": user_tags(tags)}
        meta: dict[str, Any] = {}
        if for_destroy:  # files site/ does not hold are somebody's data
            managed = set(self.ctx.site_keys())
            with self.calling(name, "ListObjectsV2"):
                pages = s3.get_paginator("list_objects_v2").paginate(Bucket=name)
                keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
                meta["foreign"] = sorted(k for k in keys if k not in managed)
        owned = naming.is_owned(self.spec, tags)
        unfinished = False
        if not owned:
            # CreateBucket cannot tag, so an apply stopped right after it leaves an untagged, empty
            # bucket whose name carries this account's, region's and stack's digest: that one is
            # this tool's unfinished create (docs/adoption.md). A bucket holding files is not.
            with self.calling(name, "ListObjectsV2"):
                unfinished = s3.list_objects_v2(Bucket=name, MaxKeys=1).get("KeyCount", 0) == 0
        return {name: Observed(state, meta, owned, unfinished)}

    def keep_on_delete(self, current: Observed) -> str | None:
        keys = current.meta.get("foreign") or []
        shown = ", ".join(keys[:5]) + (" …" if len(keys) > 5 else "")
        return f"holds files that site/ does not ({shown})" if keys else None

    def create(self, name: str, desired: dict[str, Any]) -> Observed:
        s3 = self.client("s3")
        args: dict[str, Any] = {"Bucket": name}
        if self.spec.region != "us-east-1":  # us-east-1 refuses a LocationConstraint
            args["CreateBucketConfiguration"] = {"LocationConstraint": self.spec.region}
        with self.calling(name, "CreateBucket", ignore=("BucketAlreadyOwnedByYou",)):
            s3.create_bucket(**args)
        empty = Observed({"region": self.spec.region, "public_access_block": {}, "encryption": None,
                          "ownership": None, "versioning": "Suspended", "website_index": None, "tags": {}}, {}, True)
        return self.converge(name, desired, empty)

    def update(self, name: str, desired: dict[str, Any], current: Observed,
               diffs: tuple[FieldDiff, ...]) -> Observed:
        s3 = self.client("s3")
        fields = fields_of(diffs)
        # Tags first: until they are on, the bucket is not recognisably this stack's (docs/adoption.md).
        if "tags" in fields:
            with self.calling(name, "PutBucketTagging"):  # replaces the whole set
                s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": dict_to_tag_list(desired["tags"])})
        if "public_access_block" in fields:
            with self.calling(name, "PutPublicAccessBlock"):
                s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=desired["public_access_block"])
        if "ownership" in fields:
            with self.calling(name, "PutBucketOwnershipControls"):
                s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
                    "Rules": [{"ObjectOwnership": desired["ownership"]}]})
        if "encryption" in fields:
            with self.calling(name, "PutBucketEncryption"):
                s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [{
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": desired["encryption"]},
                    "BucketKeyEnabled": True}]})
        if "versioning" in fields:
            with self.calling(name, "PutBucketVersioning"):
                s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": desired["versioning"]})
        if "website_index" in fields:
            if desired["website_index"]:
                with self.calling(name, "PutBucketWebsite"):
                    s3.put_bucket_website(Bucket=name, WebsiteConfiguration={
                        "IndexDocument": {"Suffix": desired["website_index"]}})
            else:
                with self.calling(name, "DeleteBucketWebsite"):
                    s3.delete_bucket_website(Bucket=name)
        return Observed(dict(desired), current.meta, True)

    def delete(self, name: str, current: Observed) -> None:
        """Empty the bucket (every version), then delete it. Files that ``site/`` does not hold are
        somebody's data: they are kept, and so is the bucket, unless ``--force``."""
        s3 = self.client("s3")
        with self.calling(name, "ListObjectVersions"):
            pages = s3.get_paginator("list_object_versions").paginate(Bucket=name)
            versions = [(v["Key"], v["VersionId"]) for p in pages
                        for v in [*p.get("Versions", []), *p.get("DeleteMarkers", [])]]
        if current.meta.get("foreign") and not self.ctx.force:  # never planned so; a last guard
            raise LiveInsightError(f"{self.kind} {name} holds files that site/ does not; destroy --force deletes them")
        for i in range(0, len(versions), 1000):
            batch = [{"Key": k, "VersionId": v} for k, v in versions[i:i + 1000]]
            with self.calling(name, "DeleteObjects"):
                s3.delete_objects(Bucket=name, Delete={"Objects": batch, "Quiet": True})
        with self.calling(name, "DeleteBucket", ignore=("NoSuchBucket",)):
            s3.delete_bucket(Bucket=name)

    def outputs(self, name: str, current: Observed | None) -> BucketOutputs:
        return {"name": name, "arn": f"arn:aws:s3:::{name}",
                "regional_domain": f"{name}.s3.{self.spec.region}.amazonaws.com",
                "website_endpoint": f"http://{name}.s3-website-{self.spec.region}.amazonaws.com"}
