"""The order reads start in: the rule, not the tuning constants it reads.

Which services are slow is a measured choice (docs/BENCHMARKS.md), so these tests take
``SLOWEST_SERVICES`` and ``LONGEST_READ_CHAINS`` as given and check what the ordering does with them:
nothing lost or repeated, slow services first in their rank, a long chain first within its service,
everything else in the order it came.
"""

from __future__ import annotations

from dataclasses import dataclass

import botocore.session
from hypothesis import given
from hypothesis import strategies as st

from liveinsight_infra.executor import LONGEST_READ_CHAINS, SLOWEST_SERVICES, slowest_first
from liveinsight_infra.reconcilers.registry import ordered_kinds
from liveinsight_infra.stack import services

KINDS = [k.kind for k in ordered_kinds()]


@dataclass(frozen=True)
class Item:
    kind: str
    n: int  # tells apart items of the same kind


def rank(kind: str) -> int:
    service = kind.split(".", 1)[0]
    return SLOWEST_SERVICES.index(service) if service in SLOWEST_SERVICES else len(SLOWEST_SERVICES)


@given(st.lists(st.sampled_from(KINDS)))
def test_slowest_first_reorders_by_service_rank_and_keeps_the_rest_in_order(kinds: list[str]) -> None:
    items = [Item(k, i) for i, k in enumerate(kinds)]
    out = slowest_first(items)
    assert sorted(out, key=lambda i: i.n) == items  # a permutation: nothing lost, nothing repeated
    ranks = [rank(i.kind) for i in out]
    assert ranks == sorted(ranks)  # the slowest services' reads start first
    for r in set(ranks):
        group = [i for i in out if rank(i.kind) == r]
        chains = [i.kind in LONGEST_READ_CHAINS for i in group]
        assert chains == sorted(chains, reverse=True)  # a long chain starts first within its rank
        for first in (True, False):  # otherwise the order they came in
            same = [i.n for i in group if (i.kind in LONGEST_READ_CHAINS) is first]
            assert same == sorted(same)


def test_services_name_each_read_service_once_as_a_client_botocore_can_make() -> None:
    """check_access makes these clients while its call is in flight and swallows any failure: a name
    botocore does not know would only show as a slower first read."""
    listed = services()
    assert len(listed) == len(set(listed))
    assert set(listed) == {k.split(".", 1)[0] for k in KINDS}
    assert set(listed) <= set(botocore.session.get_session().get_available_services())


def test_the_bucket_policy_client_comes_right_after_cloudfronts() -> None:
    """The distribution is found through the bucket policy that names it (bucket_policy_read.py), so
    the S3 client is wanted as soon as CloudFront's."""
    listed = services()
    assert listed[listed.index("cloudfront") + 1] == "s3"
