"""A change that must delete and recreate a table that holds data is refused while planning.

A DynamoDB key schema cannot change in place: the plan says ``replace``, and a replace deletes first.
For a table with data (ours or, with ``--adopt``, somebody else's) that would lose it silently, so
the plan refuses, before any write; an empty table is still replaced.
"""

from __future__ import annotations

import pytest

from liveinsight_infra.aws.provider import AwsProvider
from liveinsight_infra.plan import Action, DataWouldBeLost
from tests.conftest import apply_spec, make_engine

TABLE = "liveinsight-events-dev"


def recreate_with_other_keys(provider: AwsProvider, tags: list[dict[str, str]], item: bool) -> None:
    ddb = provider.client("dynamodb")
    ddb.delete_table(TableName=TABLE)
    ddb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST", Tags=tags,
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}])
    if item:
        ddb.put_item(TableName=TABLE, Item={"k": {"S": "somebody's row"}})


def rows(provider: AwsProvider) -> list[dict[str, object]]:
    return list(provider.client("dynamodb").scan(TableName=TABLE)["Items"])


def test_our_table_with_data_is_never_replaced(provider: AwsProvider) -> None:
    apply_spec(provider)
    tags = provider.client("dynamodb").list_tags_of_resource(
        ResourceArn=f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}")["Tags"]
    recreate_with_other_keys(provider, tags, item=True)
    provider.counter.reset()
    with pytest.raises(DataWouldBeLost, match=r"holds data, and key_schema differs"):
        make_engine(provider).plan()
    assert provider.counter.writes == 0
    assert rows(provider) == [{"k": {"S": "somebody's row"}}]


def test_a_foreign_table_with_data_is_not_adopted_by_replacing_it(provider: AwsProvider) -> None:
    ddb = provider.client("dynamodb")
    apply_spec(provider)
    recreate_with_other_keys(provider, [], item=True)
    with pytest.raises(DataWouldBeLost):
        make_engine(provider, adopt=True).plan()
    assert rows(provider) == [{"k": {"S": "somebody's row"}}]
    assert ddb.describe_table(TableName=TABLE)["Table"]["KeySchema"] == [{"AttributeName": "k", "KeyType": "HASH"}]


def test_an_empty_table_with_other_keys_is_replaced(provider: AwsProvider) -> None:
    apply_spec(provider)
    tags = provider.client("dynamodb").list_tags_of_resource(
        ResourceArn=f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}")["Tags"]
    recreate_with_other_keys(provider, tags, item=False)
    engine = make_engine(provider)
    plan = engine.plan()
    assert [(c.action, c.name, c.forces_replace) for c in plan if c.resource == "dynamodb.table"] == [
        (Action.REPLACE, TABLE, ("key_schema",))]
    engine.apply(plan)
    assert make_engine(provider).plan().empty
