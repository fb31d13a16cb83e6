"""When to raise a cluster's KRaft metadata version, and which version changes to refuse.

Rolling every node onto a new Kafka release is half an upgrade: the cluster keeps the metadata
version it had (the one the old release formatted it with), so the new release's features stay
off, and the old release can still run. The upgrade is finished by raising the metadata version to
the new release's (`kafka-features upgrade --release-version X.Y`, render/features_job.py), which
Kafka allows only once every node supports it. From then on the old release cannot start on the
cluster's metadata, and Kafka cannot lower a finalized metadata version: a `spec.kafka.version`
older than that must be refused before any node is rolled onto it, or the roll would stop at the
first node, which cannot start.

The metadata version each served release brings is a table here, not generated: two numbers per
release, checked by the Kafka tier against Kafka's own FeatureCommand of each release (its
`version-mapping` of `--release-version X.Y`, and of its latest production version), which is the
tool the features Job runs (tests/kafka/test_upgrade.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kopfka.model import kafka_config


@dataclass(frozen=True)
class MetadataVersion:
    """A release's metadata version: `release` as `--release-version` takes it (`4.4`),
    Kafka's name of the version (`4.4-IV2`) and its feature level of `metadata.version`."""

    release: str
    name: str
    level: int


# MetadataVersion.LATEST_PRODUCTION of each served release: what its nodes format a new cluster
# with, and what `--release-version X.Y` raises to.
METADATA_VERSIONS: Mapping[str, MetadataVersion] = {
    "4.3": MetadataVersion(release="4.3", name="4.3-IV0", level=30),
    "4.4": MetadataVersion(release="4.4", name="4.4-IV2", level=33),
}


def release_of(version: str) -> str:
    """`4.4.0` -> `4.4`: metadata versions follow minor releases."""
    major, minor = version.split(".")[:2]
    return f"{major}.{minor}"


def metadata_version(version: str) -> MetadataVersion:
    """The metadata version that Kafka `version` brings."""
    try:
        return METADATA_VERSIONS[release_of(version)]
    except KeyError:
        raise ValueError(f"kopfka knows no metadata version of Kafka {version}") from None


def level_name(level: int) -> str | None:
    """Kafka's name (`4.4-IV2`) of a level some served release brings, else None."""
    return next((known.name for known in METADATA_VERSIONS.values() if known.level == level), None)


def describe_level(level: int) -> str:
    """`4.4-IV2 (level 33)` for a level some served release brings, else `level N`."""
    name = level_name(level)
    return f"{name} (level {level})" if name else f"level {level}"


@dataclass(frozen=True)
class Finalize:
    """Raise the metadata version to `release`'s (the features Job)."""

    release: str
    level: int


@dataclass(frozen=True)
class Nothing:
    """Nothing to do now; `reason` says why, for a status message."""

    reason: str


@dataclass(frozen=True)
class Refuse:
    """The spec's version cannot run on the cluster's metadata: roll no node onto it."""

    message: str


MetadataStep = Finalize | Nothing | Refuse


def plan_metadata_version(
    spec_version: str,
    *,
    node_versions: Mapping[int, str],
    all_nodes_current: bool,
    finalized_level: int | None,
) -> MetadataStep:
    """What to do about the cluster's metadata version.

    `node_versions`: node id -> the Kafka version it runs now (its pod's); `all_nodes_current`:
    the roll is over (every pod runs the current spec, and is ready); `finalized_level`: the
    finalized level of `metadata.version` as Kafka reports it (KafkaAdmin.metadata_version_level),
    None when Kafka did not say.

    Refuse whenever the spec's release is older than the finalized metadata version, roll or no
    roll; raise only once every node runs the spec's version and the finalized level is below its
    release's. A roll back before that (say 4.4.0 -> 4.3.1 mid-roll) is not refused: the metadata
    version is still the old release's, which both releases run on.
    """
    if finalized_level is None:
        return Nothing("Kafka did not report its metadata version")
    wanted = metadata_version(spec_version)
    if finalized_level > wanted.level:
        return Refuse(_refusal(spec_version, finalized_level))
    if finalized_level == wanted.level:
        return Nothing(f"the metadata version is Kafka {wanted.release}'s, {wanted.name}")
    behind = sorted(node for node, version in node_versions.items() if version != spec_version)
    if not node_versions or behind or not all_nodes_current:
        lagging = f" (not yet: nodes {', '.join(map(str, behind))})" if behind else ""
        return Nothing(
            f"the metadata version is raised to {wanted.name} once every node runs Kafka "
            f"{spec_version}{lagging}"
        )
    return Finalize(release=wanted.release, level=wanted.level)


def _refusal(spec_version: str, finalized_level: int) -> str:
    able = [
        version
        for version in kafka_config.SUPPORTED_KAFKA_VERSIONS
        if metadata_version(version).level >= finalized_level
    ]
    remedy = (
        f"keep spec.kafka.version at {' or '.join(able)} (set it back if you changed it)"
        if able
        else "no Kafka version kopfka serves can run it"
    )
    return (
        f"spec.kafka.version {spec_version} is older than the cluster's metadata version, "
        f"{describe_level(finalized_level)}: Kafka {spec_version} cannot start on it, and Kafka "
        f"cannot lower a finalized metadata version, so no node is rolled onto {spec_version}; "
        f"{remedy}"
    )
