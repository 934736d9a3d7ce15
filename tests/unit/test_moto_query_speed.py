"""The local backend's query speed patch (liveinsight_infra_moto/fidelity.py, ``_query_one_partition``):
a table query lists only its partition, and answers exactly what moto's own query answers."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.dynamodb.models.table import Table

from liveinsight_infra_moto.fidelity import apply_fidelity_patches

apply_fidelity_patches()


@pytest.fixture
def ddb() -> Any:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(
            TableName="t", BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": a, "AttributeType": "S"} for a in ("pk", "sk", "g")],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            GlobalSecondaryIndexes=[{"IndexName": "by-g", "Projection": {"ProjectionType": "ALL"},
                                     "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"},
                                                   {"AttributeName": "sk", "KeyType": "RANGE"}]}])
        for p in ("a", "b", "c"):
            for i in range(30):
                client.put_item(TableName="t", Item={"pk": {"S": p}, "sk": {"S": f"{i:03d}"}, "g": {"S": f"g{i % 2}"},
                                                     "n": {"N": str(i)}})
        yield client


def _sks(answer: dict[str, Any]) -> list[str]:
    return [(i["pk"]["S"], i["sk"]["S"]) for i in answer["Items"]]  # type: ignore[misc]


def test_a_query_answers_its_partition_in_order_with_conditions_and_pages(ddb: Any) -> None:
    q = {"TableName": "t", "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
         "ExpressionAttributeValues": {":p": {"S": "b"}, ":lo": {"S": "005"}, ":hi": {"S": "024"}}}
    assert _sks(ddb.query(**q)) == [("b", f"{i:03d}") for i in range(5, 25)]
    backwards = ddb.query(**q, ScanIndexForward=False, Limit=7)
    assert _sks(backwards) == [("b", f"{i:03d}") for i in range(24, 17, -1)]
    rest = ddb.query(**q, ScanIndexForward=False, ExclusiveStartKey=backwards["LastEvaluatedKey"])
    assert _sks(rest) == [("b", f"{i:03d}") for i in range(17, 4, -1)]
    filtered = ddb.query(TableName="t", KeyConditionExpression="pk = :p", FilterExpression="n > :n",
                         ExpressionAttributeValues={":p": {"S": "c"}, ":n": {"N": "26"}})
    assert _sks(filtered) == [("c", "027"), ("c", "028"), ("c", "029")]
    assert ddb.query(TableName="t", KeyConditionExpression="pk = :p",
                     ExpressionAttributeValues={":p": {"S": "nobody"}})["Items"] == []


def test_an_index_query_still_sees_every_partition(ddb: Any) -> None:
    found = ddb.query(TableName="t", IndexName="by-g", KeyConditionExpression="g = :g AND sk < :s",
                      ExpressionAttributeValues={":g": {"S": "g1"}, ":s": {"S": "004"}})
    assert sorted(_sks(found)) == sorted((p, s) for p in "abc" for s in ("001", "003"))


def test_a_table_query_lists_only_its_partition(ddb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    listed: list[int] = []
    patched = Table.all_items

    def counting(self: Any) -> list[Any]:
        items = patched(self)
        listed.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", counting)
    ddb.query(TableName="t", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "a"}})
    assert listed == [30]  # moto alone lists all 90 items of the table for it
    assert ddb.scan(TableName="t")["Count"] == 90  # a scan still sees the whole table
