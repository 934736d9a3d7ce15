"""A set of admitted values is kept in shards of at most ``caps.SHARD_IDS`` digests (caps.py), so an
update of a set is billed for a small item whatever the cap, and the cap stays exact."""

from __future__ import annotations

from typing import Any

from shared import caps, store
from tests.handlers.conftest import Api

PK = "C#caps#sharded.example#2026-01-05"


def shard_sizes(api: Api, dim: str) -> dict[str, int]:
    return {i["sk"]["S"]: len(i["ids"]["BS"]) for i in api.items(PK)
            if i["sk"]["S"] == dim or i["sk"]["S"].startswith(f"{dim}#")}


def admit(values: list[str], cap: int, dim: str = "page", fresh: bool = False) -> set[str]:
    if fresh:  # as another container, which read nothing yet
        caps.reset_for_tests()
    return caps._admit(store.table(), (PK, dim), cap, set(values))


def test_a_large_set_fills_shards_of_at_most_shard_ids_and_its_cap_exactly(api: Api) -> None:
    cap = 2 * caps.SHARD_IDS + 50
    admitted: set[str] = set()
    for start in range(0, 400, 30):  # requests of 30 new values, some from another container
        admitted |= admit([f"/p{i}" for i in range(start, start + 30)], cap, fresh=start % 90 == 0)
    assert len(admitted) == cap
    assert admitted >= {f"/p{i}" for i in range(240)}  # first come, first served (the last request in part)
    assert shard_sizes(api, "page") == {"page": caps.SHARD_IDS, "page#1": caps.SHARD_IDS, "page#2": 50}
    # Admitted stays admitted, in any container; a new value stays out.
    assert admit(["/p0", "/p120", "/p399", "/new"], cap, fresh=True) == {"/p0", "/p120", "/p399"} & admitted


def test_each_update_of_a_full_sized_set_writes_a_shard_of_at_most_shard_ids(api: Api) -> None:
    sizes: list[int] = []

    def grown(parsed: dict[str, Any], **_: Any) -> None:
        sizes.append(len(parsed.get("Attributes", {}).get("ids", {}).get("BS", [])))

    hooks = store.table().meta.client.meta.events
    hooks.register("after-call.dynamodb.UpdateItem", grown)
    try:
        for start in range(0, 600, 7):
            admit([f"/q{i}" for i in range(start, start + 7)], 600)
    finally:
        hooks.unregister("after-call.dynamodb.UpdateItem", grown)
    assert sizes and max(sizes) == caps.SHARD_IDS
    assert sum(shard_sizes(api, "page").values()) == 600


def test_a_first_shard_larger_than_shard_ids_counts_toward_the_cap(api: Api) -> None:
    """A set written whole in one item (before shards) keeps its values; new ones go to the next shard."""
    old = {caps._id(f"/o{i}") for i in range(150)}
    store.table().put_item(Item={"pk": PK, "sk": "page", "ids": old})
    got = admit([f"/o{i}" for i in range(150)] + [f"/n{i}" for i in range(200)], 300, fresh=True)
    assert len(got) == 300 and got >= {f"/o{i}" for i in range(150)}
    assert shard_sizes(api, "page") == {"page": 150, "page#1": 100, "page#2": 50}
