"""The metadata version planner: raise only once every node runs the spec's release and the
cluster is behind it; nothing mid-roll or when already there; refuse a spec older than the
finalized metadata version, roll or no roll, with a message that names both and the way out.
(The Kafka tier checks the table against each release's own FeatureCommand.)"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from kopfka.model import kafka_config
from kopfka.model.upgrade import (
    METADATA_VERSIONS,
    Finalize,
    MetadataStep,
    Nothing,
    Refuse,
    describe_level,
    metadata_version,
    plan_metadata_version,
    release_of,
)

OLD, NEW = "4.3.1", "4.4.0"
LEVEL_43, LEVEL_44 = 30, 33
ALL_OLD = {0: OLD, 1: OLD, 2: OLD, 3: OLD}
ALL_NEW = {0: NEW, 1: NEW, 2: NEW, 3: NEW}
MIXED = {0: NEW, 1: NEW, 2: OLD, 3: OLD}


def plan(
    spec: str, nodes: Mapping[int, str], *, current: bool = True, level: int | None
) -> MetadataStep:
    return plan_metadata_version(
        spec, node_versions=nodes, all_nodes_current=current, finalized_level=level
    )


@pytest.mark.parametrize(
    ("spec", "nodes", "current", "level", "expected"),
    [
        pytest.param(NEW, ALL_NEW, True, LEVEL_43, Finalize("4.4", LEVEL_44), id="roll-done"),
        # A cluster made before kopfka served 4.3 (4.2-IV1) catches up on 4.3.1 too.
        pytest.param(OLD, ALL_OLD, True, 27, Finalize("4.3", LEVEL_43), id="older-cluster"),
        pytest.param(NEW, MIXED, False, LEVEL_43, Nothing, id="mid-roll"),
        # Pods all on the new version, but the roll is not over (one not ready yet).
        pytest.param(NEW, ALL_NEW, False, LEVEL_43, Nothing, id="roll-not-over"),
        # The roll is over for a spec that was changed again since: the nodes say otherwise.
        pytest.param(NEW, MIXED, True, LEVEL_43, Nothing, id="nodes-behind"),
        pytest.param(NEW, {}, True, LEVEL_43, Nothing, id="no-nodes"),
        pytest.param(NEW, ALL_NEW, True, LEVEL_44, Nothing, id="already-finalized"),
        pytest.param(OLD, ALL_OLD, True, LEVEL_43, Nothing, id="old-release-at-its-own"),
        pytest.param(NEW, ALL_NEW, True, None, Nothing, id="kafka-did-not-say"),
        # A roll back before the upgrade was finalized: both releases run on 4.3's metadata.
        pytest.param(OLD, MIXED, False, LEVEL_43, Nothing, id="roll-back-in-time"),
        pytest.param(OLD, ALL_NEW, True, LEVEL_44, Refuse, id="downgrade-after-finalize"),
        pytest.param(OLD, MIXED, False, LEVEL_44, Refuse, id="downgrade-mid-roll"),
        pytest.param(NEW, ALL_NEW, True, 40, Refuse, id="newer-than-any-served"),
    ],
)
def test_the_plan(
    spec: str,
    nodes: Mapping[int, str],
    current: bool,
    level: int | None,
    expected: MetadataStep | type[Nothing] | type[Refuse],
) -> None:
    step = plan(spec, nodes, current=current, level=level)
    if isinstance(expected, type):
        assert isinstance(step, expected)
    else:
        assert step == expected


def test_the_refusal_names_both_versions_and_what_to_do() -> None:
    step = plan(OLD, ALL_NEW, level=LEVEL_44)
    assert step == Refuse(
        "spec.kafka.version 4.3.1 is older than the cluster's metadata version, "
        "4.4-IV2 (level 33): Kafka 4.3.1 cannot start on it, and Kafka cannot lower a "
        "finalized metadata version, so no node is rolled onto 4.3.1; keep "
        "spec.kafka.version at 4.4.0 (set it back if you changed it)"
    )


def test_a_level_no_served_release_runs_on_is_said_as_such() -> None:
    step = plan(NEW, ALL_NEW, level=40)
    assert isinstance(step, Refuse)
    assert "metadata version, level 40:" in step.message
    assert step.message.endswith("no Kafka version kopfka serves can run it")


def test_mid_roll_says_which_nodes_are_behind() -> None:
    step = plan(NEW, MIXED, current=False, level=LEVEL_43)
    assert step == Nothing(
        "the metadata version is raised to 4.4-IV2 once every node runs Kafka 4.4.0 "
        "(not yet: nodes 2, 3)"
    )


@pytest.mark.parametrize("version", kafka_config.SUPPORTED_KAFKA_VERSIONS)
def test_every_served_version_brings_a_known_metadata_version(version: str) -> None:
    known = metadata_version(version)
    assert known.release == release_of(version)
    assert known.name.startswith(f"{known.release}-IV")
    assert describe_level(known.level) == f"{known.name} (level {known.level})"


def test_newer_releases_bring_higher_levels() -> None:
    levels = [metadata_version(v).level for v in kafka_config.SUPPORTED_KAFKA_VERSIONS]
    assert levels == sorted(levels)
    assert len(set(levels)) == len(levels)
    assert {m.release for m in METADATA_VERSIONS.values()} == set(METADATA_VERSIONS)


def test_an_unknown_release_is_an_error_not_a_guess() -> None:
    with pytest.raises(ValueError, match=r"Kafka 3\.9\.1"):
        metadata_version("3.9.1")
    with pytest.raises(ValueError, match=r"Kafka 3\.9\.1"):
        plan("3.9.1", {0: "3.9.1"}, level=21)
