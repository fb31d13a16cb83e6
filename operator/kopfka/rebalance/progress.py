"""How far a rebalance is, from what Kafka shows: partitions at their target, and bytes still to
copy. The operator reports both in `status.rebalance` while the rebalance Job runs (the Job itself
has no access to the KafkaCluster), reading replica sizes from Kafka (DescribeLogDirs).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kopfka.rebalance.wire import Target

PartitionKey = tuple[str, int]


@dataclass(frozen=True)
class Progress:
    done: int  # partitions whose replicas are their target, in order
    bytes_left: int  # bytes the replicas of the other partitions still have to copy


def progress(
    targets: Sequence[Target],
    replicas: Mapping[PartitionKey, tuple[int, ...]],
    sizes: Mapping[PartitionKey, Mapping[int, int]],
) -> Progress:
    """`replicas` is each partition's replica list now, `sizes` the bytes of each of its replicas
    by broker. A partition not at its target still has to copy, onto each target broker, what its
    largest replica holds beyond what that broker has already (a partition whose topic is gone
    counts as neither done nor left)."""
    done = left = 0
    for target in targets:
        now = replicas.get(target.key)
        if now is None:
            continue
        if now == target.replicas:
            done += 1
            continue
        held = sizes.get(target.key) or {}
        full = max(held.values(), default=0)
        left += sum(max(0, full - held.get(broker, 0)) for broker in target.replicas)
    return Progress(done, left)
