"""Each function's role allows every table call its handler makes, and the readers never reach the salt.

The handlers run in-process on moto; every DynamoDB call is recorded with the partition keys it
touches (``dynamodb:LeadingKeys``) and evaluated against the role policy the tool writes for that
function (tests/iam_sim.py).
"""

from __future__ import annotations

import re
import time
from typing import Any

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.reconcilers.iam import RoleReconciler
from shared import store
from tests.conftest import DEV, make_engine
from tests.handlers.conftest import TABLE, Api
from tests.iam_actions import Call, Recorder
from tests.iam_sim import Request, allowed, refused

TABLE_ARN = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"


def _value(v: Any) -> str:
    return str(v["S"]) if isinstance(v, dict) and "S" in v else str(v)


def leading_keys(call: Call) -> list[str]:
    p = call.params
    if call.operation in ("PutItem",):
        return [_value(p["Item"]["pk"])]
    if call.operation in ("GetItem", "UpdateItem", "DeleteItem"):
        return [_value(p["Key"]["pk"])]
    if call.operation == "Query":
        name = re.search(r"pk = (:\w+)", str(p["KeyConditionExpression"]))
        assert name, p["KeyConditionExpression"]
        return [_value(p["ExpressionAttributeValues"][name.group(1)])]
    if call.operation == "BatchWriteItem":
        keys = []
        for request in p["RequestItems"][TABLE]:
            item = request["PutRequest"]["Item"] if "PutRequest" in request else request["DeleteRequest"]["Key"]
            keys.append(_value(item["pk"]))
        return keys
    raise AssertionError(f"no key rule for {call.operation}")


TRANSACT_ACTIONS = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                    "ConditionCheck": "ConditionCheckItem"}


def requests_of(calls: list[Call]) -> list[Request]:
    out = []
    for c in calls:
        if c.operation == "TransactWriteItems":
            # Authorised item by item, by each item's own action
            # (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html).
            for item in c.params["TransactItems"]:
                ((kind, body),) = item.items()
                pk = body["Item"]["pk"] if kind == "Put" else body["Key"]["pk"]
                out.append(Request(f"dynamodb:{TRANSACT_ACTIONS[kind]}", TABLE_ARN,
                                   {"dynamodb:LeadingKeys": [_value(pk)]}))
            continue
        out.append(Request(f"dynamodb:{c.operation}", TABLE_ARN, {"dynamodb:LeadingKeys": leading_keys(c)}))
    return out


def role_policy(provider: AwsProvider, key: str) -> dict[str, Any]:
    return RoleReconciler(make_engine(provider, DEV).ctx).policy_for(key)


def test_each_role_allows_what_its_handler_calls_and_nothing_of_the_salt(api: Api) -> None:
    recorder = Recorder()
    recorder.attach(store.table().meta.client)
    now = int(time.time() * 1000)
    events = [{"name": "pageview", "url": f"https://example.com/p{i}", "domain": "example.com", "ts": now,
               "referrer": "https://news.example.org/x"} for i in range(30)]
    events.append({"name": "signup", "url": "https://example.com/", "domain": "example.com", "ts": now})
    for ip in ("198.51.100.1", "198.51.100.2"):
        assert api.post(events, ip=ip)[0] == 202
    assert api.post([{"name": "pageview", "url": "https://example.com/", "domain": "example.com", "ts": now}],
                    ua="curl/8.0")[0] in (202, 204)
    collected = list(recorder.calls)
    recorder.calls.clear()
    api.realtime("example.com")
    realtime = list(recorder.calls)
    recorder.calls.clear()
    api.stats("example.com", period="7d")
    stats = list(recorder.calls)

    made = {c.operation for c in collected}
    assert "PutItem" in made and made & {"UpdateItem", "TransactWriteItems"}  # markers, counters
    assert made & {"BatchWriteItem", "TransactWriteItems"}  # raw events
    assert any(k == "SALT" for c in collected for k in leading_keys(c))
    for key, calls in (("event-collector", collected), ("realtime-api", realtime), ("stats-api", stats)):
        assert calls, key
        assert refused(role_policy(api.provider, key), requests_of(calls)) == [], key

    # A second container finds the day's salt already written and reads it back: allowed to the collector only.
    salt_read = Request("dynamodb:GetItem", TABLE_ARN, {"dynamodb:LeadingKeys": ["SALT"]})
    assert allowed(role_policy(api.provider, "event-collector"), salt_read)
    for reader in ("realtime-api", "stats-api"):
        policy = role_policy(api.provider, reader)
        for action in ("dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchGetItem"):
            assert not allowed(policy, Request(action, TABLE_ARN, {"dynamodb:LeadingKeys": ["SALT"]})), (reader, action)
        # A Scan carries no dynamodb:LeadingKeys (AWS's reference), so the key condition cannot stop it:
        # only not granting Scan does.
        assert not allowed(policy, Request("dynamodb:Scan", TABLE_ARN)), reader
        assert not allowed(policy, Request("dynamodb:PutItem", TABLE_ARN, {"dynamodb:LeadingKeys": ["C#x"]}))
    # Writers delete nothing on their own, and reach no other key space.
    collector = role_policy(api.provider, "event-collector")
    assert not allowed(collector, Request("dynamodb:DeleteItem", TABLE_ARN, {"dynamodb:LeadingKeys": ["C#x"]}))
    assert not allowed(collector, Request("dynamodb:PutItem", TABLE_ARN, {"dynamodb:LeadingKeys": ["LOCK#x"]}))

