"""The back office's portfolio views over every shard (:mod:`lendcore.store.shards`): the same tested
query on each shard, merged. Sums merge exactly (counts and fen), so a sharded book reads the same as
one database holding it all; what does not merge by summing (medians, ratios of sums) is computed
from the merged sums, never averaged across shards."""

from __future__ import annotations

from collections import Counter

from lendcore.core.delinquency import Bucket
from lendcore.queries.portfolio import (
    BucketShare,
    ProductOutstanding,
    dpd_distribution,
    outstanding_by_product,
)
from lendcore.store.shards import ShardRouter


def outstanding_by_product_across(router: ShardRouter) -> tuple[ProductOutstanding, ...]:
    contracts: Counter[str] = Counter()
    principal: Counter[str] = Counter()
    for rows in router.fan_out(outstanding_by_product):
        for row in rows:
            contracts[row.product_code] += row.contracts
            principal[row.product_code] += row.principal_outstanding
    return tuple(ProductOutstanding(p, contracts[p], principal[p]) for p in sorted(contracts))


def dpd_distribution_across(router: ShardRouter) -> tuple[BucketShare, ...]:
    contracts: Counter[Bucket] = Counter()
    principal: Counter[Bucket] = Counter()
    for rows in router.fan_out(dpd_distribution):
        for row in rows:
            contracts[row.bucket] += row.contracts
            principal[row.bucket] += row.principal_outstanding
    return tuple(BucketShare(b, contracts[b], principal[b]) for b in Bucket)
