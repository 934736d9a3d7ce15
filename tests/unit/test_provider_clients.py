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


class CallHeldUntilClientsExist(boto3.Session):
    """``GetCallerIdentity`` is held until the listed clients have been made (or 30 s pass): it can
    only answer in time if they are made while it is in flight, not after it."""

    def __init__(self, wanted: set[str]) -> None:
        super().__init__(region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        self.wanted, self.made = wanted, set[str]()
        self.all_made = threading.Event()
        self.in_flight_saw: set[str] | None = None

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        made = super().client(service_name, *args, **kwargs)
        if service_name == "sts":
            made.meta.events.register_first("before-send.sts.GetCallerIdentity", self._hold)
        else:
            self.made.add(service_name)
            if self.wanted <= self.made:
                self.all_made.set()
        return made

    def _hold(self, **_: Any) -> None:
        self.all_made.wait(30)
        self.in_flight_saw = set(self.made)


def test_the_access_check_makes_the_listed_clients_while_its_call_is_in_flight() -> None:
    session = CallHeldUntilClientsExist({"cloudfront", "iam"})
    with mock_aws():
        aws = AwsProvider("us-east-1", session=session)
        assert aws.check_access(prepare=("cloudfront", "iam")) == ACCOUNT_ID
    assert session.in_flight_saw == {"cloudfront", "iam"}  # made before the call was answered
    assert set(aws._clients) == {("cloudfront", "us-east-1"), ("iam", "us-east-1")}
    assert aws.counter.calls == {("sts", "GetCallerIdentity"): 1}  # making clients calls nothing


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
