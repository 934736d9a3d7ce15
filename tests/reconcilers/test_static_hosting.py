"""Static hosting on moto: bucket, policy, distribution, site sync, invalidations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.constants import CACHE_POLICIES
from liveinsight_infra.plan import Action
from tests.conftest import apply_spec, make_engine

BUCKET = "liveinsight-static-dev-"


def bucket_of(p: AwsProvider) -> str:
    (name,) = [b["Name"] for b in p.client("s3").list_buckets()["Buckets"] if b["Name"].startswith(BUCKET)]
    return name


def dist_of(p: AwsProvider) -> dict[str, Any]:
    (d,) = p.client("cloudfront").list_distributions()["DistributionList"]["Items"]
    return d  # type: ignore[no-any-return]


def count(p: AwsProvider, op: str) -> int:
    return sum(n for (_, o), n in p.counter.calls.items() if o == op)


def test_bucket_is_private_encrypted_versioned_and_tagged(provider: AwsProvider) -> None:
    apply_spec(provider)
    s3 = provider.client("s3")
    name = bucket_of(provider)
    assert len(name) == len(BUCKET) + 8
    assert s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    rule = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_ownership_controls(Bucket=name)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}]
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=name)["TagSet"]}
    assert tags["liveinsight:stack"] == "liveinsight-dev"


def test_bucket_policy_admits_only_this_distribution_and_denies_plain_http(provider: AwsProvider) -> None:
    apply_spec(provider)
    name = bucket_of(provider)
    policy = json.loads(provider.client("s3").get_bucket_policy(Bucket=name)["Policy"])
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements) == {"CloudFrontReadsThroughOAC", "DenyWithoutTLS"}
    read = statements["CloudFrontReadsThroughOAC"]
    assert read["Principal"] == {"Service": "cloudfront.amazonaws.com"} and read["Action"] == "s3:GetObject"
    assert read["Condition"] == {"StringEquals": {"AWS:SourceArn": dist_of(provider)["ARN"]}}
    deny = statements["DenyWithoutTLS"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_bucket_policy_admits_this_distribution_over_tls_and_nothing_else(provider: AwsProvider) -> None:
    """The applied policy, evaluated with AWS's rules (tests/iam_sim.py, not moto's evaluator): the
    distribution reads over TLS; another distribution, and any request without TLS, do not."""
    from tests.iam_sim import Request, decide

    apply_spec(provider)
    name = bucket_of(provider)
    policy = json.loads(provider.client("s3").get_bucket_policy(Bucket=name)["Policy"])
    ours = dist_of(provider)["ARN"]
    other = ours.rsplit("/", 1)[0] + "/EOTHERDISTRIBUTION"
    obj = f"arn:aws:s3:::{name}/dashboard.html"

    def read(source: str, tls: bool) -> str:
        return decide(policy, Request("s3:GetObject", obj, {"aws:SourceArn": source,
                                                            "aws:SecureTransport": str(tls).lower()}))

    assert read(ours, tls=True) == "allow"
    assert read(other, tls=True) == "implicit-deny"
    assert read(ours, tls=False) == "deny"
    assert decide(policy, Request("s3:PutObject", obj, {"aws:SecureTransport": "false"})) == "deny"


def test_distribution_config_reads_back(provider: AwsProvider) -> None:
    apply_spec(provider)
    d = dist_of(provider)
    cfg = provider.client("cloudfront").get_distribution_config(Id=d["Id"])["DistributionConfig"]
    api_id = provider.client("apigateway").get_rest_apis()["items"][0]["id"]
    assert cfg["Comment"] == "liveinsight-infra:liveinsight-dev" and cfg["Enabled"] is True
    assert cfg["DefaultRootObject"] == "dashboard.html" and cfg["PriceClass"] == "PriceClass_100"
    assert cfg["HttpVersion"] == "http2and3"
    origins = {o["Id"]: o for o in cfg["Origins"]["Items"]}
    assert origins["site"]["DomainName"] == f"{bucket_of(provider)}.s3.us-east-1.amazonaws.com"
    assert origins["api"]["DomainName"] == f"{api_id}.execute-api.us-east-1.amazonaws.com"
    assert origins["api"]["OriginPath"] == "/dev"
    assert origins["api"]["CustomOriginConfig"]["OriginProtocolPolicy"] == "https-only"
    dcb = cfg["DefaultCacheBehavior"]
    assert dcb["TargetOriginId"] == "site" and dcb["ViewerProtocolPolicy"] == "redirect-to-https"
    assert dcb["Compress"] is True and dcb["CachePolicyId"] == CACHE_POLICIES["CachingOptimized"]
    assert dcb["CachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    (api,) = cfg["CacheBehaviors"]["Items"]
    assert api["PathPattern"] == "/api/*" and api["TargetOriginId"] == "api"
    assert api["CachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
    (policy,) = provider.client("cloudfront").list_origin_request_policies(Type="custom")[
        "OriginRequestPolicyList"]["Items"]
    assert api["OriginRequestPolicyId"] == policy["OriginRequestPolicy"]["Id"]  # the stack's own whitelist
    assert sorted(api["AllowedMethods"]["Items"]) == sorted(["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH",
                                                              "DELETE"])


def test_the_site_origin_has_its_oac_and_the_request_no_legacy_fields(provider: AwsProvider) -> None:
    """The OAC and S3 origin config read back as sent; the request carries no ``ForwardedValues``
    (AWS refuses them beside a cache policy; moto adds them on read-back, so the request is checked)."""
    sent: list[dict[str, Any]] = []
    provider.register("provide-client-params.cloudfront.CreateDistributionWithTags",
                      lambda params, **_: sent.append(params))
    apply_spec(provider)
    (params,) = sent
    request = params["DistributionConfigWithTags"]["DistributionConfig"]
    assert request["CallerReference"].startswith("liveinsight-infra:liveinsight-dev:")  # new per creation
    assert "ForwardedValues" not in request["DefaultCacheBehavior"]
    cloudfront = provider.client("cloudfront")
    cfg = cloudfront.get_distribution_config(Id=dist_of(provider)["Id"])["DistributionConfig"]
    site = next(o for o in cfg["Origins"]["Items"] if o["Id"] == "site")
    (oac,) = cloudfront.list_origin_access_controls()["OriginAccessControlList"]["Items"]
    assert site["OriginAccessControlId"] == oac["Id"]
    assert site["S3OriginConfig"] == {"OriginAccessIdentity": ""}
    assert oac["SigningProtocol"] == "sigv4" and oac["SigningBehavior"] == "always"


def test_an_oac_taken_off_the_site_origin_is_drift_that_apply_puts_back(provider: AwsProvider) -> None:
    """Without its OAC, CloudFront reads the bucket anonymously and the bucket policy refuses it: the
    dashboard is down. The read-back reports the OAC (moto 5.2.6+, as AWS), so this is plain drift."""
    apply_spec(provider)
    cloudfront = provider.client("cloudfront")
    dist_id = dist_of(provider)["Id"]
    got = cloudfront.get_distribution_config(Id=dist_id)
    cfg = got["DistributionConfig"]
    oac_id = next(o for o in cfg["Origins"]["Items"] if o["Id"] == "site")["OriginAccessControlId"]
    for origin in cfg["Origins"]["Items"]:
        if origin["Id"] == "site":
            origin["OriginAccessControlId"] = ""
    cloudfront.update_distribution(Id=dist_id, IfMatch=got["ETag"], DistributionConfig=cfg)

    engine = make_engine(provider)
    plan = engine.plan()
    (change,) = [c for c in plan if c.resource == "cloudfront.distribution"]
    assert change.action is Action.UPDATE
    assert [(d.path, d.before, d.after) for d in change.diffs] == [("site_origin.oac", None, oac_id)]
    engine.apply(plan)
    cfg = cloudfront.get_distribution_config(Id=dist_id)["DistributionConfig"]
    assert next(o for o in cfg["Origins"]["Items"] if o["Id"] == "site")["OriginAccessControlId"] == oac_id


def test_unchanged_reapply_uploads_nothing_and_invalidates_nothing(provider: AwsProvider) -> None:
    apply_spec(provider)
    provider.counter.reset()
    apply_spec(provider)
    assert count(provider, "PutObject") == 0
    assert count(provider, "CreateInvalidation") == 0
    assert count(provider, "UpdateDistribution") == 0
    assert provider.counter.writes == 0


def test_files_have_content_type_and_cache_control(provider: AwsProvider) -> None:
    apply_spec(provider)
    s3 = provider.client("s3")
    name = bucket_of(provider)
    page = s3.head_object(Bucket=name, Key="dashboard.html")
    assert page["ContentType"] == "text/html; charset=utf-8" and page["CacheControl"] == "no-cache"
    config = json.loads(s3.get_object(Bucket=name, Key="config.json")["Body"].read())
    assert config["apiBase"] == "/api"


def test_one_changed_file_means_one_upload_and_one_invalidation_path(provider: AwsProvider,
                                                                     project_copy: Path) -> None:
    site = project_copy / "site"
    (site / "app.js").write_text("console.log('v1');\n")
    spec = project_copy / "specs" / "dev.yaml"
    apply_spec(provider, spec)
    (site / "app.js").write_text("console.log('v2');\n")
    plan = make_engine(provider, spec).plan()
    assert [(c.action, c.resource, c.name) for c in plan] == [
        (Action.UPDATE, "s3.object", "app.js"), (Action.UPDATE, "cloudfront.invalidation", "site")]
    sent: list[dict[str, Any]] = []
    provider.register("provide-client-params.cloudfront.CreateInvalidation", lambda params, **_: sent.append(params))
    provider.counter.reset()
    apply_spec(provider, spec)
    assert count(provider, "PutObject") == 1
    (inv,) = sent
    assert inv["InvalidationBatch"]["Paths"] == {"Quantity": 1, "Items": ["/app.js"]}
    head = provider.client("s3").head_object(Bucket=bucket_of(provider), Key="app.js")
    assert head["CacheControl"] == "public, max-age=86400"
    assert make_engine(provider, spec).plan().empty


def test_removed_file_is_deleted_and_root_change_invalidates_slash(provider: AwsProvider, project_copy: Path) -> None:
    site = project_copy / "site"
    (site / "old.css").write_text("body{}\n")
    spec = project_copy / "specs" / "dev.yaml"
    apply_spec(provider, spec)
    (site / "old.css").unlink()
    (site / "dashboard.html").write_text("<!doctype html><title>new</title>\n")
    sent: list[dict[str, Any]] = []
    provider.register("provide-client-params.cloudfront.CreateInvalidation", lambda params, **_: sent.append(params))
    apply_spec(provider, spec)
    keys = [o["Key"] for o in provider.client("s3").list_objects_v2(Bucket=bucket_of(provider))["Contents"]]
    assert "old.css" not in keys
    assert sent[0]["InvalidationBatch"]["Paths"]["Items"] == ["/", "/dashboard.html", "/old.css"]


def test_the_plan_of_a_removed_file_shows_its_path_in_the_invalidation(provider: AwsProvider,
                                                                      project_copy: Path) -> None:
    site = project_copy / "site"
    (site / "old.css").write_text("body{}\n")
    spec = project_copy / "specs" / "dev.yaml"
    apply_spec(provider, spec)
    (site / "old.css").unlink()
    engine = make_engine(provider, spec)
    plan = engine.plan()
    assert [(c.action, c.resource, c.name) for c in plan] == [
        (Action.DELETE, "s3.object", "old.css"), (Action.UPDATE, "cloudfront.invalidation", "site")]
    (inv,) = plan.for_kind("cloudfront.invalidation")
    assert {d.path: d.after for d in inv.diffs}["paths"] == ["/old.css"]
    engine.apply(plan)
    objects = engine.current_outputs()["s3.object"]
    assert "old.css" not in objects and "dashboard.html" in objects  # what is gone is no output of the stack
    provider.counter.reset()
    apply_spec(provider, spec)
    assert provider.counter.writes == 0


def test_many_changed_files_invalidate_everything_once(provider: AwsProvider, project_copy: Path) -> None:
    site = project_copy / "site"
    spec = project_copy / "specs" / "dev.yaml"
    apply_spec(provider, spec)
    for i in range(20):
        (site / f"f{i}.txt").write_text(str(i))
    sent: list[dict[str, Any]] = []
    provider.register("provide-client-params.cloudfront.CreateInvalidation", lambda params, **_: sent.append(params))
    apply_spec(provider, spec)
    assert [s["InvalidationBatch"]["Paths"]["Items"] for s in sent] == [["/*"]]


class Lost(Exception):
    pass


def test_a_lost_create_distribution_answer_never_makes_a_second_distribution(provider: AwsProvider) -> None:
    def lose(**_: Any) -> None:
        raise Lost("the answer of CreateDistributionWithTags was lost")

    provider.register("after-call.cloudfront.CreateDistributionWithTags", lose)
    with pytest.raises(Lost):
        apply_spec(provider)
    provider.client("cloudfront").meta.events.unregister("after-call.cloudfront.CreateDistributionWithTags", lose)
    fresh = AwsProvider("us-east-1", session=provider._session)
    apply_spec(fresh)
    assert len(provider.client("cloudfront").list_distributions()["DistributionList"]["Items"]) == 1
    assert make_engine(fresh).plan().empty


def test_an_upload_without_its_invalidation_is_finished_by_the_next_apply(provider: AwsProvider,
                                                                          project_copy: Path) -> None:
    spec = project_copy / "specs" / "dev.yaml"
    apply_spec(provider, spec)
    (project_copy / "site" / "dashboard.html").write_text("<!doctype html><title>v2</title>\n")

    def crash(**_: Any) -> None:
        raise Lost("crash before the invalidation")

    provider.register("before-call.cloudfront.CreateInvalidation", crash)
    with pytest.raises(Lost):
        apply_spec(provider, spec)
    provider.client("cloudfront").meta.events.unregister("before-call.cloudfront.CreateInvalidation", crash)
    sent: list[dict[str, Any]] = []
    fresh = AwsProvider("us-east-1", session=provider._session)
    fresh.register("provide-client-params.cloudfront.CreateInvalidation", lambda params, **_: sent.append(params))
    plan = make_engine(fresh, spec).plan()
    assert [c.resource for c in plan] == ["cloudfront.invalidation"]
    apply_spec(fresh, spec)
    assert [s["InvalidationBatch"]["Paths"]["Items"] for s in sent] == [["/*"]]
    assert make_engine(fresh, spec).plan().empty


def test_bucket_outside_us_east_1(provider: AwsProvider, project_copy: Path) -> None:
    spec = project_copy / "specs" / "dev.yaml"
    spec.write_text(spec.read_text().replace("region: us-east-1", "region: eu-west-1"))
    p = AwsProvider("eu-west-1", session=provider._session)
    apply_spec(p, spec)
    s3 = p.client("s3")
    name = bucket_of(p)
    assert s3.get_bucket_location(Bucket=name)["LocationConstraint"] == "eu-west-1"
    engine = make_engine(p, spec)
    bucket = engine.reconciler("s3.bucket")
    bucket.create(name, bucket.desired(name, {}))  # BucketAlreadyOwnedByYou outside us-east-1: adopted
    assert make_engine(p, spec).plan().empty


def test_public_website_mode_is_opt_in_and_visible(provider: AwsProvider, project_copy: Path) -> None:
    spec = project_copy / "specs" / "dev.yaml"
    spec.write_text(spec.read_text().replace("public_website: false", "public_website: true"))
    plan = make_engine(provider, spec).plan()
    bucket = next(c for c in plan if c.resource == "s3.bucket")
    assert ("website_index", None, "dashboard.html") in [(d.path, d.before, d.after) for d in bucket.diffs]
    apply_spec(provider, spec)
    s3 = provider.client("s3")
    name = bucket_of(provider)
    assert s3.get_bucket_website(Bucket=name)["IndexDocument"]["Suffix"] == "dashboard.html"
    pab = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert pab["BlockPublicPolicy"] is False and pab["BlockPublicAcls"] is True
    sids = {s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])["Statement"]}
    assert "PublicWebsiteRead" in sids


def test_destroy_removes_distribution_oac_and_bucket(provider: AwsProvider) -> None:
    apply_spec(provider)
    engine = make_engine(provider)
    plan = engine.plan(destroy=True)
    kinds = [c.resource for c in plan]
    assert kinds.index("cloudfront.distribution") < kinds.index("cloudfront.oac")
    assert kinds.index("cloudfront.distribution") < kinds.index("s3.bucket")
    engine.apply(plan)
    assert provider.client("cloudfront").list_distributions()["DistributionList"].get("Items", []) == []
    assert [b["Name"] for b in provider.client("s3").list_buckets()["Buckets"]] == []
    assert provider.client("cloudfront").list_origin_access_controls()["OriginAccessControlList"].get("Items", []) == []


def test_destroy_keeps_a_bucket_holding_foreign_files(provider: AwsProvider) -> None:

    apply_spec(provider)
    provider.client("s3").put_object(Bucket=bucket_of(provider), Key="exports/2026.csv", Body=b"data")
    engine = make_engine(provider)
    plan = engine.plan(destroy=True)
    assert "s3.bucket" not in {c.resource for c in plan}
    (note,) = plan.notes
    assert "exports/2026.csv" in note and "--force" in note
    engine.apply(plan)
    assert len(provider.client("s3").list_buckets()["Buckets"]) == 1
    forced = make_engine(provider, force=True)
    forced.apply(forced.plan(destroy=True))
    assert provider.client("s3").list_buckets()["Buckets"] == []


def test_a_new_distribution_is_created_with_the_site_version_of_the_files_already_uploaded(
        provider: AwsProvider) -> None:
    """The distribution is created once the site's files are uploaded, carrying their site version, so
    the invalidation step after it has nothing to send: no TagResource on a cold apply's critical path."""
    from liveinsight_infra.reconcilers.cloudfront import TAG_SITE_VERSION
    from liveinsight_infra.reconcilers.s3_site import site_version

    uploads: list[str] = []
    created_after: list[int] = []
    provider.register("before-call.s3.PutObject", lambda **_: uploads.append("put"))
    provider.register("before-call.cloudfront.CreateDistributionWithTags",
                      lambda **_: created_after.append(len(uploads)))
    engine = apply_spec(provider)
    assert created_after == [len(uploads)] and uploads  # every file was up before the distribution
    assert count(provider, "TagResource") == 0, provider.counter.write_calls()
    tags = provider.client("cloudfront").list_tags_for_resource(Resource=dist_of(provider)["ARN"])["Tags"]["Items"]
    assert {t["Key"]: t["Value"] for t in tags}[TAG_SITE_VERSION] == site_version(engine.ctx.site())
    assert make_engine(provider).plan().empty
