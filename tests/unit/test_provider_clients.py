"""The provider's client cache under concurrent readers: a client already made is handed out at once."""

from __future__ import annotations

import threading
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID as ACCOUNT_ID

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.errors import LiveInsightError


class SlowSession(boto3.Session):
    """Creating a ``cloudwatch`` client blocks until released (a slow client creation on a busy machine)."""

    def __init__(self) -> None:
        super().__init__(region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        self.creating = threading.Event()
        self.release = threading.Event()

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if service_name == "cloudwatch":
            self.creating.set()
            assert self.release.wait(60)
        return super().client(service_name, *args, **kwargs)


def test_a_made_client_is_not_held_up_by_another_being_made() -> None:
    session = SlowSession()
    aws = AwsProvider("us-east-1", session=session)
    iam = aws.client("iam")
    maker = threading.Thread(target=aws.client, args=("cloudwatch",))
    # Asked on a thread of its own: the answer must come while cloudwatch's client is still being
    # made (held until released below), however slowly a loaded machine runs. A lookup that waited
    # for the other client would not answer before the join gives up.
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(aws.client("iam")))
    maker.start()
    try:
        assert session.creating.wait(30)
        reader.start()
        reader.join(30)
        assert got == [iam] and maker.is_alive() and not session.release.is_set()
    finally:
        session.release.set()
        maker.join(60)
        if reader.ident is not None:
            reader.join(60)
    assert aws.client("cloudwatch") is aws.client("cloudwatch")


def test_the_access_check_makes_the_listed_clients_while_its_call_is_in_flight(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        aws = AwsProvider("us-east-1")
        assert aws.check_access(prepare=("cloudfront", "iam")) == ACCOUNT_ID
        assert aws._preparing is not None
        aws._preparing.join(60)
        made = set(aws._clients)
    assert made == {("cloudfront", "us-east-1"), ("iam", "us-east-1")}
    assert aws.counter.calls == {("sts", "GetCallerIdentity"): 1}  # making clients calls nothing


def test_the_access_check_answers_without_waiting_for_every_client_to_be_made(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The reads start once the check has answered and their own client is made: a slow client of
    # another service (cloudwatch's, held until released) does not hold the check's answer back.
    with mock_aws():
        session = SlowSession()
        aws = AwsProvider("us-east-1", session=session)
        answered: list[str] = []
        checker = threading.Thread(target=lambda: answered.append(
            aws.check_access(prepare=("cloudfront", "cloudwatch", "iam"))))
        checker.start()
        try:
            assert session.creating.wait(30)
            checker.join(30)
            assert answered == [ACCOUNT_ID] and not session.release.is_set()
            assert aws.client("cloudfront") is aws.client("cloudfront")  # made before the slow one
        finally:
            session.release.set()
            checker.join(60)
        assert aws._preparing is not None
        aws._preparing.join(60)
        assert set(aws._clients) == {(s, "us-east-1") for s in ("cloudfront", "cloudwatch", "iam")}


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:1", "http://127.0.0.1:99999"])
def test_a_failed_access_check_is_the_error_seen_even_with_clients_to_make(
        endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    aws = AwsProvider("us-east-1", endpoint_url=endpoint)
    with pytest.raises(LiveInsightError) as caught:
        aws.check_access(prepare=("cloudfront", "iam", "s3"))
    assert endpoint in str(caught.value)
