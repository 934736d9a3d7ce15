"""The moto fidelity patch: bucket-policy conditions evaluated as AWS does."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra_moto.fidelity import conditions_hold


def tls_only(bucket: str, secure: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": secure}}}]})


def test_a_tls_only_policy_lets_https_clients_write(provider: AwsProvider) -> None:
    s3 = provider.client("s3")
    s3.create_bucket(Bucket="bucket-one")
    s3.put_bucket_policy(Bucket="bucket-one", Policy=tls_only("bucket-one", "false"))
    s3.put_object(Bucket="bucket-one", Key="k", Body=b"x")
    assert s3.get_object(Bucket="bucket-one", Key="k")["Body"].read() == b"x"


def test_a_condition_that_holds_still_denies(provider: AwsProvider) -> None:
    s3 = provider.client("s3")
    s3.create_bucket(Bucket="bucket-two")
    s3.put_bucket_policy(Bucket="bucket-two", Policy=tls_only("bucket-two", "true"))  # denies HTTPS: must bite
    with pytest.raises(ClientError, match=r"AccessDenied|403"):  # moto answers a bare 403 to a put
        s3.put_object(Bucket="bucket-two", Key="k", Body=b"x")


@pytest.mark.parametrize(("conditions", "incoming", "holds"), [
    ({"Bool": {"aws:SecureTransport": "false"}}, {}, False),
    ({"Bool": {"aws:SecureTransport": "true"}}, {}, True),
    ({"StringEquals": {"AWS:SourceArn": "arn:a"}}, {}, False),
    ({"StringEquals": {"AWS:SourceArn": "arn:a"}}, {"aws:SourceArn": "arn:a"}, True),
    ({"ArnLike": {"aws:SourceArn": "arn:aws:execute-api:*:*/GET/*"}},
     {"aws:SourceArn": "arn:aws:execute-api:r:1/GET/x"},
     True),
    ({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "c"}, True),
    ({"StringEqualsIfExists": {"k": "a"}}, {}, True),
    ({"Null": {"k": "true"}}, {}, True),
    ({"Null": {"k": "true"}}, {"k": "v"}, False),
])
def test_conditions(conditions: dict[str, dict[str, str]], incoming: dict[str, str], holds: bool) -> None:
    assert conditions_hold(conditions, incoming) is holds
