"""The provider's client cache under concurrent readers: a client already made is handed out at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import boto3

from liveinsight_infra.aws.provider import AwsProvider


class SlowSession(boto3.Session):
    """Creating a ``cloudwatch`` client blocks until released (a slow client creation on a busy machine)."""

    def __init__(self) -> None:
        super().__init__(region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
        self.creating = threading.Event()
        self.release = threading.Event()

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        if service_name == "cloudwatch":
            self.creating.set()
            assert self.release.wait(10)
        return super().client(service_name, *args, **kwargs)


def test_a_made_client_is_not_held_up_by_another_being_made() -> None:
    session = SlowSession()
    aws = AwsProvider("us-east-1", session=session)
    iam = aws.client("iam")
    maker = threading.Thread(target=aws.client, args=("cloudwatch",))
    maker.start()
    try:
        assert session.creating.wait(10)
        t0 = time.monotonic()
        assert aws.client("iam") is iam  # while cloudwatch's client is still being made
        assert time.monotonic() - t0 < 1
    finally:
        session.release.set()
        maker.join(10)
    assert aws.client("cloudwatch") is aws.client("cloudwatch")
