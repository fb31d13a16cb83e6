"""Hypothesis strategies for valid KafkaCluster specs, as people write them.

`cluster_specs()` draws specs that kopfka accepts, with what makes their rendering differ from
the API server's normal form if kopfka is careless: quantities in every spelling (fractional cpu,
1024Mi, 1.5Gi, 1e9, +1Gi), empty strings and lists in the pod template's Kubernetes types, pod
labels and annotations, tolerations, affinity, topology spread constraints, JVM options, rack, and
NetworkPolicy clients with empty selectors, values and exceptions.
Both the unit tier (rendering passes the Kubernetes schema) and the integration tier (a second
apply writes nothing) draw from it; `accepted` parses a drawn spec.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st

from kopfka.model import kafka_config, schema
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.errors import SpecError
from tests.support.quantities import spelled
from tests.support.settings import configs

MIB = 2**20
ZONE = "topology.kubernetes.io/zone"
TOPOLOGY_KEYS = (ZONE, "topology.kubernetes.io/region", "kubernetes.io/hostname")


def _bytes(low: int, high: int) -> st.SearchStrategy[int]:
    """Sizes from `low` to `high` bytes: round MiB most of the time, sometimes any byte count."""
    return st.integers(low // MIB, high // MIB).map(lambda mib: mib * MIB) | st.integers(low, high)


def sizes(low: int = MIB, high: int = 64 * 2**30) -> st.SearchStrategy[str | int]:
    """A whole number of bytes, spelled any way: 1Gi, 1024Mi, 1.5Gi, 1e9, 1073741824, +1Gi."""
    return _bytes(low, high).flatmap(spelled)


def _cpu_millis() -> st.SearchStrategy[Fraction]:
    """Millicores, from a thousandth of one to 4 cores (fractions of millicores round up)."""
    return st.integers(1, 4000).map(Fraction) | st.integers(1, 10_000).map(
        lambda thousandths: Fraction(thousandths, 1000)
    )


def _share(total: Fraction) -> st.SearchStrategy[Fraction]:
    """A part of `total` (whole percents, so that it still has a decimal spelling)."""
    return st.integers(0, 100).map(lambda percent: total * percent / 100)


@st.composite
def resources(draw: st.DrawFn) -> dict[str, Any]:
    """Requests within limits; a memory limit leaves room for the default heap (half of it) and
    the JVM outside the heap."""
    requests: dict[str, Any] = {}
    limits: dict[str, Any] = {}
    if draw(st.booleans()):
        cpu_limit = draw(_cpu_millis())
        limits["cpu"] = draw(spelled(cpu_limit / 1000))
        if draw(st.booleans()):
            requests["cpu"] = draw(spelled(draw(_share(cpu_limit)) / 1000))
    elif draw(st.booleans()):
        requests["cpu"] = draw(spelled(draw(_cpu_millis()) / 1000))
    if draw(st.booleans()):
        memory_limit = draw(_bytes(768 * MIB, 16 * 2**30))
        limits["memory"] = draw(spelled(memory_limit))
        if draw(st.booleans()):
            requests["memory"] = draw(spelled(draw(_bytes(MIB, memory_limit))))
    elif draw(st.booleans()):
        requests["memory"] = draw(sizes(MIB, 16 * 2**30))
    if draw(st.booleans()):
        storage_limit = draw(_bytes(MIB, 2**40))
        limits["ephemeral-storage"] = draw(spelled(storage_limit))
        if draw(st.booleans()):
            requests["ephemeral-storage"] = draw(spelled(draw(_bytes(MIB, storage_limit))))
    result = {}
    if requests:
        result["requests"] = requests
    if limits:
        result["limits"] = limits
    return result


storage = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("persistent-claim"), "size": sizes()},
        optional={"class": st.sampled_from(["fast", "standard"]), "deleteClaim": st.booleans()},
    ),
    st.fixed_dictionaries({"type": st.just("ephemeral")}, optional={"sizeLimit": sizes()}),
)
jvm_options = st.lists(
    st.sampled_from(
        [
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-XX:+ExitOnOutOfMemoryError",
            "-Dkopfka.note=two words",
            "-Djava.awt.headless=true",
        ]
    ),
    max_size=3,
    unique=True,
)
pool_extra = st.fixed_dictionaries(
    {},
    optional={
        "storage": storage,
        "resources": resources(),
        "jvm": st.fixed_dictionaries({"options": jvm_options}),
    },
)
listeners = st.lists(
    st.tuples(st.from_regex(r"[a-z][a-z0-9]{0,14}", fullmatch=True), st.integers(1024, 65535)),
    min_size=1,
    max_size=3,
    unique_by=(lambda item: item[0], lambda item: item[1]),
).filter(
    lambda items: all(
        port not in schema.RESERVED_PORTS and name not in schema.RESERVED_LISTENER_NAMES
        for name, port in items
    )
)
# Replication settings are left out: their limits depend on the broker count (bad-input cases).
_REPLICATION = {*kafka_config.REPLICATION_KEYS, *kafka_config.MIN_ISR_KEYS}
config = (
    st.sampled_from(kafka_config.SUPPORTED_KAFKA_VERSIONS)
    .flatmap(lambda version: st.tuples(st.just(version), configs(version, max_size=4)))
    .map(lambda drawn: (drawn[0], {k: v for k, v in drawn[1].items() if k not in _REPLICATION}))
)

# --- the pod template: Kubernetes' own types, with the empty values people leave in -----------

label_keys = st.sampled_from(["team", "tier", "example.com/owner", "cost-center", "env"])
label_values = st.sampled_from(["", "data", "a-b.c_d", "x" * 63, "0"])
annotation_values = st.sampled_from(["", "x", "two words", "multi\nline", '{"json": true}', "é"])
some_values = st.lists(st.sampled_from(["a", "b", "ssd", "1"]), min_size=1, max_size=2, unique=True)


@st.composite
def label_selectors(draw: st.DrawFn) -> dict[str, Any]:
    selector: dict[str, Any] = {}
    if draw(st.booleans()):
        selector["matchLabels"] = draw(st.dictionaries(label_keys, label_values, max_size=2))
    if draw(st.booleans()):
        expressions = []
        for key in draw(st.lists(label_keys, max_size=2, unique=True)):
            operator = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            expression: dict[str, Any] = {"key": key, "operator": operator}
            if operator in ("In", "NotIn"):
                expression["values"] = draw(some_values)
            elif draw(st.booleans()):
                expression["values"] = []
            expressions.append(expression)
        selector["matchExpressions"] = expressions
    return selector


@st.composite
def node_selector_terms(draw: st.DrawFn) -> dict[str, Any]:
    term: dict[str, Any] = {}
    for field, keys in (
        ("matchExpressions", st.sampled_from(["disk", "example.com/pool", ZONE])),
        ("matchFields", st.just("metadata.name")),
    ):
        if not draw(st.booleans()):
            continue
        requirements = []
        for key in draw(st.lists(keys, max_size=2, unique=True)):
            choices = ["In", "NotIn"] if field == "matchFields" else ["In", "NotIn", "Exists"]
            operator = draw(st.sampled_from([*choices, "Gt"] if key == "disk" else choices))
            requirement: dict[str, Any] = {"key": key, "operator": operator}
            if operator == "Gt":
                requirement["values"] = ["3"]
            elif operator == "Exists":
                if draw(st.booleans()):
                    requirement["values"] = []
            else:
                requirement["values"] = draw(
                    some_values.map(lambda values: values[:1])
                    if field == "matchFields"
                    else some_values
                )
            requirements.append(requirement)
        term[field] = requirements
    return term


@st.composite
def pod_affinity_terms(draw: st.DrawFn) -> dict[str, Any]:
    term: dict[str, Any] = {"topologyKey": draw(st.sampled_from(TOPOLOGY_KEYS))}
    if draw(st.booleans()):
        term["labelSelector"] = draw(label_selectors())
    if draw(st.booleans()):
        term["namespaces"] = draw(st.lists(st.sampled_from(["a", "b"]), max_size=2, unique=True))
    if draw(st.booleans()):
        term["namespaceSelector"] = draw(label_selectors())
    return term


@st.composite
def affinities(draw: st.DrawFn) -> dict[str, Any]:
    affinity: dict[str, Any] = {}
    if draw(st.booleans()):
        node: dict[str, Any] = {}
        if draw(st.booleans()):
            node["requiredDuringSchedulingIgnoredDuringExecution"] = {
                "nodeSelectorTerms": draw(st.lists(node_selector_terms(), min_size=1, max_size=2))
            }
        if draw(st.booleans()):
            node["preferredDuringSchedulingIgnoredDuringExecution"] = draw(
                st.lists(
                    st.fixed_dictionaries(
                        {"weight": st.integers(1, 100), "preference": node_selector_terms()}
                    ),
                    max_size=2,
                )
            )
        affinity["nodeAffinity"] = node
    for kind in ("podAffinity", "podAntiAffinity"):
        if not draw(st.booleans()):
            continue
        pods: dict[str, Any] = {}
        if draw(st.booleans()):
            pods["requiredDuringSchedulingIgnoredDuringExecution"] = draw(
                st.lists(pod_affinity_terms(), max_size=2)
            )
        if draw(st.booleans()):
            pods["preferredDuringSchedulingIgnoredDuringExecution"] = draw(
                st.lists(
                    st.fixed_dictionaries(
                        {"weight": st.integers(1, 100), "podAffinityTerm": pod_affinity_terms()}
                    ),
                    max_size=2,
                )
            )
        affinity[kind] = pods
    return affinity


@st.composite
def tolerations(draw: st.DrawFn) -> dict[str, Any]:
    toleration: dict[str, Any] = {}
    operator = draw(st.sampled_from(["Exists", "Equal", None]))
    key = draw(st.sampled_from(["", "dedicated", "example.com/kafka", None]))
    if operator == "Exists" or key:
        if key is not None:
            toleration["key"] = key
    else:
        toleration["key"] = "dedicated"
    if operator is not None:
        toleration["operator"] = operator
    if operator != "Exists" and draw(st.booleans()):
        toleration["value"] = draw(st.sampled_from(["", "kafka"]))
    effect = draw(st.sampled_from(["", "NoSchedule", "PreferNoSchedule", "NoExecute", None]))
    if effect is not None:
        toleration["effect"] = effect
    if effect == "NoExecute" and draw(st.booleans()):
        toleration["tolerationSeconds"] = draw(st.integers(0, 3600))
    return toleration


@st.composite
def spread_constraints(draw: st.DrawFn) -> list[dict[str, Any]]:
    pairs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(TOPOLOGY_KEYS), st.sampled_from(["DoNotSchedule", "ScheduleAnyway"])
            ),
            max_size=2,
            unique=True,
        )
    )
    constraints = []
    for topology_key, when in pairs:
        constraint: dict[str, Any] = {
            "maxSkew": draw(st.integers(1, 3)),
            "topologyKey": topology_key,
            "whenUnsatisfiable": when,
        }
        if draw(st.booleans()):
            constraint["labelSelector"] = draw(label_selectors())
        if when == "DoNotSchedule" and draw(st.booleans()):
            constraint["minDomains"] = draw(st.integers(1, 3))
        if draw(st.booleans()):
            constraint["nodeAffinityPolicy"] = draw(st.sampled_from(["Honor", "Ignore"]))
        if draw(st.booleans()):
            constraint["nodeTaintsPolicy"] = draw(st.sampled_from(["Honor", "Ignore"]))
        if "labelSelector" in constraint and draw(st.booleans()):
            # Keys the selector cannot name (label_keys): the API server refuses an overlap.
            constraint["matchLabelKeys"] = draw(
                st.lists(st.sampled_from(["pod-template-hash", "revision"]), max_size=1)
            )
        constraints.append(constraint)
    return constraints


template = st.fixed_dictionaries(
    {},
    optional={
        "metadata": st.fixed_dictionaries(
            {},
            optional={
                "labels": st.dictionaries(label_keys, label_values, max_size=3),
                "annotations": st.dictionaries(label_keys, annotation_values, max_size=3),
            },
        ),
        "affinity": affinities(),
        "tolerations": st.lists(tolerations(), max_size=3),
        "topologySpreadConstraints": spread_constraints(),
        "nodeSelector": st.dictionaries(label_keys, label_values, max_size=2),
        "priorityClassName": st.just("kafka"),
        "imagePullSecrets": st.lists(
            st.sampled_from(["registry", "mirror"]), max_size=2, unique=True
        ).map(lambda names: [{"name": name} for name in names]),
    },
)


@st.composite
def network_policy_clients(draw: st.DrawFn) -> dict[str, Any]:
    """A NetworkPolicy peer: pods, namespaces, both, or addresses (with exceptions, or an empty
    list of them, which the API server drops)."""
    shape = draw(st.sampled_from(["pods", "namespaces", "both", "addresses"]))
    if shape == "addresses":
        cidr, inside = draw(
            st.sampled_from(
                [
                    ("10.0.0.0/8", ["10.1.0.0/16", "10.2.3.4/32"]),
                    ("0.0.0.0/0", ["169.254.0.0/16"]),
                    ("fd00::/8", ["fd00:1::/32"]),
                ]
            )
        )
        block: dict[str, Any] = {"cidr": cidr}
        if draw(st.booleans()):
            block["except"] = draw(st.lists(st.sampled_from(inside), max_size=2, unique=True))
        return {"ipBlock": block}
    peer: dict[str, Any] = {}
    if shape in ("pods", "both"):
        peer["podSelector"] = draw(label_selectors())
    if shape in ("namespaces", "both"):
        peer["namespaceSelector"] = draw(label_selectors())
    return peer


network_policies = st.fixed_dictionaries(
    {"enabled": st.booleans()},
    optional={"clients": st.lists(network_policy_clients(), min_size=1, max_size=3)},
)


@st.composite
def cluster_specs(draw: st.DrawFn) -> dict[str, Any]:
    combined = draw(st.booleans())
    spec: dict[str, Any] = {
        "mode": "combined" if combined else "dedicated",
        "controllers": {"replicas": draw(st.sampled_from([1, 3, 5])), **draw(pool_extra)},
        "kafka": dict(zip(("version", "config"), draw(config), strict=True)),
        "listeners": [
            {"name": name, "port": port, "tls": draw(st.booleans())}
            for name, port in draw(listeners)
        ],
        "template": {"pod": draw(template)},
    }
    if not combined:
        spec["brokers"] = {"replicas": draw(st.integers(1, 12)), **draw(pool_extra)}
    if draw(st.booleans()):
        spec["rack"] = {
            "topologyKey": draw(st.sampled_from([ZONE, "topology.kubernetes.io/region"]))
        }
    if draw(st.booleans()):
        spec["networkPolicy"] = draw(network_policies)
    return spec


def accepted(spec: dict[str, Any], name: str = "c", namespace: str = "ns") -> ClusterSpec:
    """The parsed spec; settings drawn one by one may break a rule across settings (a heartbeat
    above its session timeout): such specs are dropped, and hypothesis fails the test if that
    happens to most of them. Any other problem fails the test: the strategy draws valid specs."""
    try:
        return parse_cluster(name, namespace, spec)
    except SpecError as error:
        assume(not all(p.startswith("spec.kafka.config.") for p in error.problems))
        raise
