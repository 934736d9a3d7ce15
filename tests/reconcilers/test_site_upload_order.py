"""The site's files upload beside the distribution's create: they do not wait for the bucket policy."""

from __future__ import annotations

import json
import threading
from typing import Any

from liveinsight_infra.aws.provider import AwsProvider
from tests.conftest import apply_spec, make_engine


def test_a_cold_apply_uploads_the_files_before_the_bucket_policy_is_written(provider: AwsProvider) -> None:
    uploaded = threading.Event()
    policy_waited: list[bool] = []

    def order(model: Any, **_: Any) -> None:
        if model.name == "PutObject":
            uploaded.set()
        elif model.name == "PutBucketPolicy":  # the policy follows the distribution's create
            policy_waited.append(uploaded.wait(timeout=20))
    provider.register("before-call.s3.*", order)
    engine = apply_spec(provider)
    assert policy_waited == [True]  # an upload was under way while the policy waited for it
    bucket = engine.reconciler("s3.bucket_policy").names()[0]
    policy = json.loads(provider.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    assert {s["Sid"] for s in policy["Statement"]} >= {"CloudFrontReadsThroughOAC", "DenyWithoutTLS"}
    assert make_engine(provider).plan().changes == ()  # and the stack converged
