"""Scaling brokers on the real node under an acks=all producer: 3 -> 5 brokers rebalances replicas
onto the new ones; a rebalance asked for (kopfka.dev/rebalance) on the balanced cluster moves
nothing; a KafkaTopic's replication factor raised and lowered is carried out by rebalances that
keep the brokers balanced; 5 -> 3 is refused while a topic has 4 replicas, and removes nothing;
once that topic is gone, 5 -> 3 drains the two brokers that leave, with the operator killed during
the drain, then removes and unregisters them, and keeps their volumes. No acknowledged value is
lost on the way.

The tests run in file order on one cluster of their own (one controller, to leave the node room
for five brokers).
"""

from __future__ import annotations

import base64
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import yaml

from e2e.suite.conftest import NAMESPACE, OPERATOR_NAMESPACE
from e2e.suite.kafka_client import KafkaClient, RunningProducer
from kopfka.rebalance.wire import RebalanceWork, read_work_file
from kopfka.render.operator_job import WORK_KEY
from tests.support.clusters import wait_ready
from tests.support.kube import Obj, TestKube, condition
from tests.support.manifests import kafka_cluster, kafka_topic, one_controller
from tests.support.waiting import wait_for

NAME = "scale"
TOPIC = "e2e-scale"
# Replication factor 4: 3 brokers cannot hold it.
WIDE_TOPIC = "e2e-wide"
# A KafkaTopic whose replication factor changes.
FACTOR_TOPIC = "e2e-factor"
PARTITIONS = 10
VERSION = "4.4.0"
READY_TIMEOUT = 300.0
# New brokers start and join, then a rebalance Job moves replicas, on a 2-core node.
REBALANCE_TIMEOUT = 600.0
NODE = {
    "resources": {"requests": {"cpu": "100m", "memory": "768Mi"}, "limits": {"memory": "768Mi"}},
    "jvm": {"heap": "384Mi"},
    "storage": {"type": "persistent-claim", "size": "1Gi"},
}


def manifest(brokers: int) -> Obj:
    return kafka_cluster(NAME, NAMESPACE, one_controller(VERSION, brokers, NODE))


@dataclass
class Scaled:
    kube: TestKube
    client: KafkaClient
    producer: RunningProducer

    def get(self) -> Obj:
        return self.kube.must_get("kopfka.dev/v1alpha1", "KafkaCluster", NAME, NAMESPACE)

    def scale(self, brokers: int) -> None:
        self.kube.kubectl(
            "patch", "kafkacluster", NAME, "-n", NAMESPACE, "--type", "merge",
            "-p", f'{{"spec": {{"brokers": {{"replicas": {brokers}}}}}}}',
        )  # fmt: skip

    def statefulset_replicas(self) -> int:
        sts = self.kube.must_get("apps/v1", "StatefulSet", f"{NAME}-brokers", NAMESPACE)
        return int(sts["spec"]["replicas"])

    def broker_pods(self) -> set[str]:
        pods = self.kube.list("v1", "Pod", NAMESPACE, labels={"kopfka.dev/role": "broker"})
        return {
            pod["metadata"]["name"]
            for pod in pods
            if pod["metadata"]["name"].startswith(f"{NAME}-brokers-")
        }

    def claims(self) -> set[str]:
        claims = self.kube.list("v1", "PersistentVolumeClaim", NAMESPACE)
        return {
            c["metadata"]["name"]
            for c in claims
            if c["metadata"]["name"].startswith(f"data-{NAME}-brokers-")
        }

    def events(self, reason: str) -> list[Obj]:
        return [
            event
            for event in self.kube.list("v1", "Event", NAMESPACE)
            if event["involvedObject"]["name"] == NAME and event["reason"] == reason
        ]

    def rebalance_jobs(self) -> set[str]:
        jobs = self.kube.list(
            "batch/v1", "Job", NAMESPACE, labels={"app.kubernetes.io/component": "rebalance-job"}
        )
        return {job["metadata"]["name"] for job in jobs}

    def work_of(self, job: str) -> RebalanceWork:
        """The work a rebalance Job was given (its ConfigMap has the Job's name)."""
        config_map = self.kube.must_get("v1", "ConfigMap", job, NAMESPACE)
        return read_work_file(base64.b64decode(config_map["binaryData"][WORK_KEY]))

    def pod_uids(self) -> dict[str, str]:
        labels = {"kopfka.dev/cluster": NAME, "app.kubernetes.io/name": "kafka"}
        pods = self.kube.list("v1", "Pod", NAMESPACE, labels=labels)
        return {pod["metadata"]["name"]: pod["metadata"]["uid"] for pod in pods}

    def rebalance(self) -> Obj:
        return dict(self.get().get("status", {}).get("rebalance") or {})

    def describe(self) -> str:
        status = self.get().get("status", {})
        conditions = [
            f"{c['type']}={c['status']} {c.get('reason')}: {c.get('message')}"
            for c in status.get("conditions", [])
        ]
        return f"rebalance {status.get('rebalance')}; " + "; ".join(conditions)


def assignment(client: KafkaClient) -> dict[str, tuple[int, list[int]]]:
    """partition -> (leader, replicas) of every topic, as TopicCommand --describe shows them."""
    output = client.run_tool(
        "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", client.bootstrap, "--describe"
    )
    found = {}
    line = re.compile(
        r"Topic: (\S+)\s+Partition: (\d+)\s+Leader: (-?\d+)\s+Replicas: ([\d,]+)\s+Isr:"
    )
    for match in line.finditer(output):
        topic, partition, leader, replicas = match.groups()
        found[f"{topic}-{partition}"] = (int(leader), [int(r) for r in replicas.split(",")])
    assert found, f"TopicCommand --describe listed no partition: {output[-2000:]}"
    return found


def registered_brokers(client: KafkaClient) -> set[int]:
    """Every broker registered in the KRaft metadata, fenced ones too (kafka-cluster
    list-endpoints --include-fenced-brokers)."""
    output = client.run_tool(
        "org.apache.kafka.tools.ClusterTool", "list-endpoints", "--bootstrap-server",
        client.bootstrap, "--include-fenced-brokers",
    )  # fmt: skip
    return {int(line.split()[0]) for line in output.splitlines() if re.match(r"\d+\s", line)}


def replica_counts(found: dict[str, tuple[int, list[int]]]) -> Counter[int]:
    return Counter(broker for _, replicas in found.values() for broker in replicas)


def assert_balanced(found: dict[str, tuple[int, list[int]]], brokers: range) -> None:
    counts = replica_counts(found)
    on = {broker: counts.get(broker, 0) for broker in brokers}
    assert set(counts) <= set(brokers), f"replicas on brokers outside {list(brokers)}: {counts}"
    assert max(on.values()) - min(on.values()) <= 1, f"replicas per broker not balanced: {on}"
    preferred = Counter(replicas[0] for _, replicas in found.values())
    leads = {broker: preferred.get(broker, 0) for broker in brokers}
    assert max(leads.values()) - min(leads.values()) <= 1, f"preferred leaders: {leads}"


def degraded(cluster: Obj, reason: str | None = None) -> Obj | None:
    """The cluster's Degraded condition when it is True (with `reason`, if given), else None."""
    found = condition(cluster, "Degraded")
    if found is None or found.get("status") != "True":
        return None
    return found if reason is None or found.get("reason") == reason else None


@pytest.fixture(scope="module")
def scaled(kube: TestKube, namespace: str, operator: str) -> Iterator[Scaled]:
    kube.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest(3)))
    wait_ready(kube, NAME, namespace, timeout=READY_TIMEOUT)
    client = KafkaClient(kube, namespace, bootstrap=f"{NAME}-kafka-bootstrap.{namespace}.svc:9092")
    client.start(f"kopfka/kafka:{VERSION}")
    client.create_topic(TOPIC, partitions=PARTITIONS, replicas=3, min_isr=2)
    producer = client.start_producing(TOPIC, count=10_000_000, value_prefix=7, throughput=100)
    yield Scaled(kube, client, producer)
    kube.kubectl("delete", "kafkacluster", NAME, "-n", namespace, "--ignore-not-found")


def test_three_to_five_brokers_moves_replicas_onto_the_new_ones_until_balanced(
    scaled: Scaled,
) -> None:
    before = scaled.rebalance()
    assert before.get("balancedBrokers") == [0, 1, 2], scaled.describe()
    scaled.scale(5)
    wait_for(
        lambda: (
            scaled.rebalance().get("balancedBrokers") == [0, 1, 2, 3, 4]
            and not scaled.rebalance().get("job")
        ),
        timeout=REBALANCE_TIMEOUT,
        what="the rebalance onto brokers 3 and 4 to finish",
        describe=scaled.describe,
        interval=2.0,
    )
    found = assignment(scaled.client)
    assert_balanced(found, range(5))
    assert replica_counts(found)[3] > 0, found
    assert replica_counts(found)[4] > 0, found
    jobs = scaled.kube.list(
        "batch/v1", "Job", NAMESPACE, labels={"app.kubernetes.io/component": "rebalance-job"}
    )
    assert jobs, "no rebalance Job is left for people to read"
    assert all(job["status"].get("succeeded") == 1 for job in jobs), [j["status"] for j in jobs]


def test_a_requested_rebalance_of_a_balanced_cluster_moves_nothing(scaled: Scaled) -> None:
    before, jobs = assignment(scaled.client), scaled.rebalance_jobs()
    scaled.kube.kubectl(
        "annotate", "kafkacluster", NAME, "-n", NAMESPACE, "kopfka.dev/rebalance=after-scale-up"
    )
    wait_for(
        lambda: scaled.rebalance().get("requested") == "after-scale-up",
        timeout=READY_TIMEOUT,
        what="the requested rebalance to be handled",
        describe=scaled.describe,
    )
    assert scaled.rebalance_jobs() == jobs
    assert assignment(scaled.client) == before


def factors(found: dict[str, tuple[int, list[int]]], topic: str) -> list[int]:
    """The replica count of each partition of `topic`, by partition."""
    return [
        len(replicas)
        for name, (_, replicas) in sorted(
            found.items(), key=lambda item: int(item[0].split("-")[-1])
        )
        if name.rsplit("-", 1)[0] == topic
    ]


def topic_in_sync(kube: TestKube, factor: int) -> Obj | None:
    """The KafkaTopic once it reports, for its current spec, Ready with `factor` replicas."""
    topic = kube.must_get("kopfka.dev/v1alpha1", "KafkaTopic", FACTOR_TOPIC, NAMESPACE)
    ready, status = condition(topic, "Ready"), topic.get("status") or {}
    return (
        topic
        if ready is not None
        and ready["status"] == "True"
        and status.get("observedGeneration") == topic["metadata"]["generation"]
        and status.get("replicationFactor") == factor
        else None
    )


def test_a_kafka_topics_replication_factor_is_raised_and_lowered_by_rebalances(
    scaled: Scaled,
) -> None:
    kube = scaled.kube
    spec = {"cluster": NAME, "partitions": 5, "replicationFactor": 2}
    kube.apply(kafka_topic(FACTOR_TOPIC, NAMESPACE, spec))
    wait_for(lambda: topic_in_sync(kube, 2), timeout=READY_TIMEOUT, what=f"{FACTOR_TOPIC} at 2")
    sent = scaled.client.produce(FACTOR_TOPIC, count=2000, value_prefix=3)
    started, jobs = len(scaled.events("RebalanceStarted")), scaled.rebalance_jobs()
    # The rebalance's waves and throttle are the spec's; changing them restarts no pod.
    pods = scaled.pod_uids()
    kube.merge_patch(
        "kopfka.dev/v1alpha1", "KafkaCluster", NAME, NAMESPACE,
        {"spec": {"rebalance": {"throttle": "20Mi", "waveSize": 3}}},
    )  # fmt: skip

    for factor in (3, 2):
        kube.merge_patch(
            "kopfka.dev/v1alpha1", "KafkaTopic", FACTOR_TOPIC, NAMESPACE,
            {"spec": {"replicationFactor": factor}},
        )  # fmt: skip
        wait_for(
            lambda factor=factor: topic_in_sync(kube, factor) and not scaled.rebalance().get("job"),
            timeout=REBALANCE_TIMEOUT,
            what=f"{FACTOR_TOPIC} to report replication factor {factor}, and the rebalance to end",
            describe=lambda: (
                f"{scaled.describe()}; topic: "
                + str(kube.must_get("kopfka.dev/v1alpha1", "KafkaTopic", FACTOR_TOPIC, NAMESPACE))
            ),
            interval=2.0,
        )
        found = assignment(scaled.client)
        assert factors(found, FACTOR_TOPIC) == [factor] * 5, found
        assert_balanced(found, range(5))
    # One rebalance Job each way, with the spec's waves and throttle, and the data is all there.
    assert len(scaled.events("RebalanceStarted")) == started + 2, scaled.events("RebalanceStarted")
    for job in scaled.rebalance_jobs() - jobs:
        work = scaled.work_of(job)
        assert (work.wave_size, work.throttle_bytes_per_second) == (3, 20 * 2**20), job
    assert scaled.pod_uids() == pods, "a change of spec.rebalance restarted pods"
    values = set(scaled.client.consume_all(FACTOR_TOPIC, expected=len(sent.acked)))
    assert set(sent.acked) <= values, f"{len(set(sent.acked) - values)} values are lost"
    # The topic stays in Kafka (deletionPolicy retain) for the scale-down to drain.
    kube.kubectl("delete", "kafkatopic", FACTOR_TOPIC, "-n", NAMESPACE)


def test_a_scale_down_below_a_replication_factor_is_refused_and_removes_nothing(
    scaled: Scaled,
) -> None:
    scaled.client.create_topic(WIDE_TOPIC, partitions=2, replicas=4, min_isr=2)
    before = assignment(scaled.client)
    scaled.scale(3)
    refused = wait_for(
        lambda: degraded(scaled.get(), "RebalanceRefused"),
        timeout=READY_TIMEOUT,
        what="the scale-down to 3 brokers to be refused",
        describe=scaled.describe,
    )
    assert "brokers 3, 4 cannot be removed" in refused["message"], refused
    assert f"{WIDE_TOPIC}-0" in refused["message"], refused
    assert scaled.statefulset_replicas() == 5
    assert scaled.broker_pods() == {f"{NAME}-brokers-{i}" for i in range(5)}
    assert assignment(scaled.client) == before


def test_five_to_three_drains_the_leaving_brokers_then_removes_and_unregisters_them(
    scaled: Scaled,
) -> None:
    claims = scaled.claims()
    assert {f"data-{NAME}-brokers-{i}" for i in range(5)} <= claims
    started = len(scaled.events("RebalanceStarted"))
    # The spec asks for 3 brokers already; without the wide topic the drain can go ahead.
    scaled.client.delete_topic(WIDE_TOPIC)
    # The operator is killed once the drain has started: the one it starts again picks the drain
    # up where status and Kafka say it is, and starts no second rebalance Job for it.
    wait_for(
        lambda: scaled.rebalance().get("job") or scaled.statefulset_replicas() == 3,
        timeout=REBALANCE_TIMEOUT,
        what="the drain of brokers 3 and 4 to start",
        describe=scaled.describe,
        interval=0.5,
    )
    scaled.kube.kubectl(
        "delete", "pod", "-n", OPERATOR_NAMESPACE, "-l", "app.kubernetes.io/name=kopfka",
        "--wait=false",
    )  # fmt: skip
    wait_for(
        lambda: (
            scaled.statefulset_replicas() == 3
            and scaled.broker_pods() == {f"{NAME}-brokers-{i}" for i in range(3)}
            and not scaled.rebalance().get("unregister")
            and not scaled.rebalance().get("leaving")
        ),
        timeout=REBALANCE_TIMEOUT,
        what="brokers 3 and 4 to be drained, removed and unregistered",
        describe=scaled.describe,
        interval=2.0,
    )
    found = assignment(scaled.client)
    assert_balanced(found, range(3))
    assert registered_brokers(scaled.client) == {0, 1, 2}
    # One rebalance Job for the drain; two brokers unregistered, once each.
    assert len(scaled.events("RebalanceStarted")) == started + 1, scaled.events("RebalanceStarted")
    unregistered = sorted(event["message"] for event in scaled.events("BrokerUnregistered"))
    assert len(unregistered) == 2, unregistered
    assert "broker 3 " in unregistered[0]
    assert "broker 4 " in unregistered[1]
    assert scaled.claims() == claims, "the removed brokers' volume claims were not kept"
    ready = wait_ready(scaled.kube, NAME, NAMESPACE, timeout=READY_TIMEOUT)
    assert degraded(ready) is None, scaled.describe()


def test_no_acknowledged_value_was_lost_while_brokers_came_and_went(scaled: Scaled) -> None:
    produced = scaled.producer.stop()
    assert len(produced.acked) > 1000, f"only {len(produced.acked)} values were acknowledged"
    values = set(scaled.client.consume_all(TOPIC, expected=len(produced.acked)))
    missing = set(produced.acked) - values
    assert not missing, f"{len(missing)} acknowledged values are lost, e.g. {sorted(missing)[:5]}"
