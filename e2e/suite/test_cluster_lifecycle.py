"""The production-shaped example on a real node, installed with the chart, through a cluster's
life: Ready with real pods, acks=all traffic through the bootstrap Service, a broker pod lost
under load, an eviction the disruption budget must refuse, a requested rolling restart under load,
and the cluster deleted and re-created.

The tests run in file order on one cluster and one topic: each later test also checks that every
value acknowledged in an earlier one is still there (the ledger).
"""

from __future__ import annotations

import calendar
import copy
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import kubernetes
import pytest
import yaml

from e2e.suite.conftest import NAMESPACE, OPERATOR_NAMESPACE
from e2e.suite.kafka_client import KafkaClient
from tests.support.chart import helm
from tests.support.clusters import CLUSTER_LABEL, wait_ready
from tests.support.kube import Obj, TestKube, condition, condition_true
from tests.support.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "manifests" / "examples" / "kafkacluster-production.yaml"
TOPIC = "e2e-orders"
PARTITIONS = 6
READY_TIMEOUT = 300.0
POD_TIMEOUT = 180.0
ISR_TIMEOUT = 180.0
GONE_TIMEOUT = 180.0
# Six JVMs restarted one at a time on a 2-core node, each waited for until it caught up.
ROLL_TIMEOUT = 900.0
# What Kafka logs when it starts on a log directory it stopped on cleanly, and when not.
CLEAN_START = "since clean shutdown file was found"
UNCLEAN_START = "since no clean shutdown file was found"


def fit_to_node(manifest: Obj) -> Obj:
    """The production example with resources and volume sizes this one node can hold.

    The example asks for 7.5 CPUs, 30 GiB of memory and 330 GiB of disk; the e2e host has 2 cores
    and 24 GiB. Everything else (dedicated roles, 3 + 3 nodes, replication factor 3, min ISR 2,
    rack awareness, deleteClaim false) is the example's own.
    """
    fitted = copy.deepcopy(manifest)
    for role in ("controllers", "brokers"):
        pool = fitted["spec"][role]
        pool["resources"] = {
            "requests": {"cpu": "100m", "memory": "768Mi"},
            "limits": {"memory": "768Mi"},
        }
        pool["storage"]["size"] = "1Gi"
    return fitted


@dataclass
class Cluster:
    kube: TestKube
    manifest: Obj
    client: KafkaClient
    # Every value Kafka acknowledged so far in this module's tests.
    ledger: set[str] = field(default_factory=set)

    @property
    def name(self) -> str:
        return str(self.manifest["metadata"]["name"])

    def get(self) -> Obj:
        return self.kube.must_get("kopfka.dev/v1alpha1", "KafkaCluster", self.name, NAMESPACE)

    def pods(self) -> dict[str, Obj]:
        pods = self.kube.list("v1", "Pod", NAMESPACE, labels={CLUSTER_LABEL: self.name})
        return {pod["metadata"]["name"]: pod for pod in pods}

    def claims(self) -> dict[str, str]:
        """Claim name -> uid of the cluster's volume claims."""
        claims = self.kube.list("v1", "PersistentVolumeClaim", NAMESPACE)
        return {
            c["metadata"]["name"]: c["metadata"]["uid"]
            for c in claims
            if c["metadata"]["name"].startswith(f"data-{self.name}-")
        }

    def assert_ledger_intact(self) -> None:
        assert self.ledger, "no value was acknowledged earlier in this module"
        values = self.client.consume_all(TOPIC, expected=len(self.ledger))
        missing = self.ledger - set(values)
        assert not missing, (
            f"{len(missing)} acknowledged values are lost, e.g. {sorted(missing)[:5]}"
        )


def ready_since(pod: Obj) -> float:
    """When the pod last became Ready, in seconds since the epoch."""
    for item in pod["status"]["conditions"]:
        if item["type"] == "Ready":
            stamp = time.strptime(item["lastTransitionTime"], "%Y-%m-%dT%H:%M:%SZ")
            return float(calendar.timegm(stamp))
    raise AssertionError(f"pod {pod['metadata']['name']} has no Ready condition")


@pytest.fixture(scope="module")
def cluster(kube: TestKube, namespace: str, operator: str) -> Cluster:
    """The production example, applied once for the module; the namespace goes at the end."""
    manifest = fit_to_node(yaml.safe_load(EXAMPLE.read_text()))
    kube.kubectl("apply", "-n", namespace, "-f", "-", stdin=yaml.safe_dump(manifest))
    name = manifest["metadata"]["name"]
    client = KafkaClient(kube, namespace, bootstrap=f"{name}-kafka-bootstrap.{namespace}.svc:9092")
    image = f"kopfka/kafka:{manifest['spec']['kafka']['version']}"
    client.start(image)
    return Cluster(kube, manifest, client)


def test_chart_passes_its_helm_test_on_the_real_node(kube: TestKube, operator: str) -> None:
    out = helm(
        "test",
        operator,
        "--kubeconfig",
        str(kube.kubeconfig),
        "--namespace",
        OPERATOR_NAMESPACE,
        "--timeout",
        "120s",
    )
    assert "Phase:          Succeeded" in out, out


def test_production_example_runs_ready_pods_and_a_resolvable_bootstrap_address(
    cluster: Cluster,
) -> None:
    obj = wait_ready(cluster.kube, cluster.name, NAMESPACE, timeout=READY_TIMEOUT)
    status = obj["status"]
    assert status["readyBrokers"] == 3
    ready = condition(obj, "Ready")
    assert ready is not None
    assert ready["message"] == "6/6 nodes ready"
    pods = cluster.pods()
    roles = sorted(pod["metadata"]["labels"]["kopfka.dev/role"] for pod in pods.values())
    assert roles == ["broker"] * 3 + ["controller"] * 3, sorted(pods)
    not_running = {
        n: p["status"].get("phase")
        for n, p in pods.items()
        if p["status"].get("phase") != "Running" or not condition_true(p, "Ready")
    }
    assert not not_running, f"pods not Running and Ready: {not_running}"
    # One volume per node, bound on the node.
    claims = cluster.kube.list("v1", "PersistentVolumeClaim", NAMESPACE)
    assert sorted(c["status"]["phase"] for c in claims) == ["Bound"] * 6
    # The address the status gives is the bootstrap Service, and a pod resolves it.
    host, port = status["bootstrapServers"].rsplit(":", 1)
    service = cluster.kube.must_get("v1", "Service", host.split(".")[0], NAMESPACE)
    assert port == "9092"
    assert cluster.client.resolve(host) == service["spec"]["clusterIP"]


def test_acks_all_writes_through_the_bootstrap_service_are_all_read_back(cluster: Cluster) -> None:
    cluster.client.create_topic(TOPIC, partitions=PARTITIONS, replicas=3, min_isr=2)
    produced = cluster.client.produce(TOPIC, count=3000, value_prefix=1)
    assert not produced.failed, produced.failed[:5]
    assert produced.sent == len(produced.acked) == 3000
    cluster.ledger |= set(produced.acked)
    partitions = cluster.client.describe(TOPIC)
    assert len(partitions) == PARTITIONS
    for line in partitions:
        replicas = line.split("Replicas: ")[1].split()[0].split(",")
        isr = line.split("Isr: ")[1].split()[0].split(",")
        assert len(replicas) == 3, line
        assert sorted(isr) == sorted(replicas), line
    cluster.assert_ledger_intact()


def test_broker_pod_lost_under_acks_all_load_returns_with_its_volume_and_loses_nothing(
    cluster: Cluster,
) -> None:
    kube, pod_name = cluster.kube, f"{cluster.name}-brokers-1"
    claim_name = f"data-{pod_name}"
    claim = kube.must_get("v1", "PersistentVolumeClaim", claim_name, NAMESPACE)
    old_pod = kube.must_get("v1", "Pod", pod_name, NAMESPACE)
    log_dirs = kube.kubectl("exec", "-n", NAMESPACE, pod_name, "--", "ls", "/var/lib/kafka/data")
    partitions_before = {d for d in log_dirs.split() if d.startswith(f"{TOPIC}-")}
    assert partitions_before, f"broker 1 holds no partition of {TOPIC}: {log_dirs}"

    # 20 s of acks=all writes at 200 per second, with broker 1 deleted in the middle of them.
    producer = cluster.client.start_producing(TOPIC, count=4000, value_prefix=2, throughput=200)
    deleted_at = time.time()
    kube.kubectl("delete", "pod", "-n", NAMESPACE, pod_name, "--wait=false")
    new_pod = wait_for(
        lambda: (
            (pod := kube.get("v1", "Pod", pod_name, NAMESPACE)) is not None
            and pod["metadata"]["uid"] != old_pod["metadata"]["uid"]
            and condition_true(pod, "Ready")
            and pod
        ),
        timeout=POD_TIMEOUT,
        what=f"{pod_name} to come back Ready",
    )
    produced = producer.wait()
    assert not produced.failed, f"sends failed while a broker was away: {produced.failed[:5]}"
    assert produced.sent == len(produced.acked) == 4000
    back_at = ready_since(new_pod)
    while_away = [v for v, at in produced.acked.items() if deleted_at < at / 1000 < back_at]
    assert while_away, "no write was acknowledged while the broker was away"
    cluster.ledger |= set(produced.acked)

    # The same claim and volume, with the partitions it held.
    claim_after = kube.must_get("v1", "PersistentVolumeClaim", claim_name, NAMESPACE)
    assert claim_after["metadata"]["uid"] == claim["metadata"]["uid"]
    assert claim_after["spec"]["volumeName"] == claim["spec"]["volumeName"]
    mounted = [
        v["persistentVolumeClaim"]["claimName"]
        for v in new_pod["spec"]["volumes"]
        if "persistentVolumeClaim" in v
    ]
    assert mounted == [claim_name]
    log_dirs = kube.kubectl("exec", "-n", NAMESPACE, pod_name, "--", "ls", "/var/lib/kafka/data")
    assert partitions_before <= set(log_dirs.split())

    wait_for(
        lambda: not cluster.client.describe(TOPIC, under_replicated=True),
        timeout=ISR_TIMEOUT,
        what=f"every partition of {TOPIC} to have all 3 replicas in sync again",
        describe=lambda: "\n".join(cluster.client.describe(TOPIC)),
    )
    wait_ready(kube, cluster.name, NAMESPACE, timeout=READY_TIMEOUT)
    cluster.assert_ledger_intact()


def evict(kube: TestKube, pod: str) -> int:
    """A dry-run eviction of `pod`: 201 if the disruption budget allows it, else the refusal's
    HTTP status (429)."""
    core = kubernetes.client.CoreV1Api(kube.api_client)
    body = kubernetes.client.V1Eviction(
        metadata=kubernetes.client.V1ObjectMeta(name=pod, namespace=NAMESPACE)
    )
    try:
        core.create_namespaced_pod_eviction(pod, NAMESPACE, body, dry_run="All")
    except kubernetes.client.ApiException as error:
        return int(error.status)
    return 201


def test_disruption_budget_refuses_an_eviction_that_would_break_the_controller_quorum(
    cluster: Cluster,
) -> None:
    kube = cluster.kube
    first, second = f"{cluster.name}-controllers-0", f"{cluster.name}-controllers-1"
    budget = kube.must_get(
        "policy/v1", "PodDisruptionBudget", f"{cluster.name}-controllers", NAMESPACE
    )
    assert budget["spec"]["maxUnavailable"] == 1
    # With all three voters up, one may go.
    wait_for(
        lambda: evict(kube, second) == 201,
        timeout=POD_TIMEOUT,
        what=f"an eviction of {second} to be allowed while every controller is up",
    )
    # With one voter down, a second must not go: two of three down loses the quorum.
    kube.kubectl("delete", "pod", "-n", NAMESPACE, first, "--wait=false")
    wait_for(
        lambda: evict(kube, second) == 429,
        timeout=POD_TIMEOUT,
        what=f"the budget to refuse evicting {second} while {first} is down",
    )
    wait_ready(kube, cluster.name, NAMESPACE, timeout=READY_TIMEOUT)
    wait_for(
        lambda: evict(kube, second) == 201,
        timeout=POD_TIMEOUT,
        what=f"an eviction of {second} to be allowed again once {first} is back",
    )
    cluster.assert_ledger_intact()


class PodWatch(threading.Thread):
    """Every change to a cluster's pods, from a watch: how many of its nodes were down at once
    (missing, not ready or being deleted) at worst, and each pod's uids in the order they came."""

    def __init__(self, kube: TestKube, namespace: str, cluster: str) -> None:
        super().__init__(daemon=True)
        self.namespace = namespace
        self.selector = f"{CLUSTER_LABEL}={cluster}"
        self.resource = kube.dynamic.resources.get(api_version="v1", kind="Pod")
        listed = self.resource.get(namespace=namespace, label_selector=self.selector)
        self.version = listed.metadata.resourceVersion
        items = listed.to_dict()["items"]
        self.nodes = {item["metadata"]["name"] for item in items}
        self.up: dict[str, bool] = {}
        self.uids: dict[str, list[str]] = {name: [] for name in self.nodes}
        self.restarted: list[str] = []
        for item in items:
            self._saw(item, deleted=False)
        self.most_down = self._down()
        self.stop = threading.Event()

    def _saw(self, pod: Obj, *, deleted: bool) -> None:
        name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
        if name not in self.nodes:
            return
        if uid not in self.uids[name]:
            if self.uids[name]:
                self.restarted.append(name)
            self.uids[name].append(uid)
        going = deleted or pod["metadata"].get("deletionTimestamp") is not None
        self.up[name] = not going and condition_true(pod, "Ready")

    def _down(self) -> int:
        return sum(1 for name in self.nodes if not self.up.get(name, False))

    def run(self) -> None:
        while not self.stop.is_set():
            for event in self.resource.watch(
                namespace=self.namespace,
                label_selector=self.selector,
                resource_version=self.version,
                timeout=2,
            ):
                pod = event["raw_object"]
                self.version = pod["metadata"]["resourceVersion"]
                self._saw(pod, deleted=event["type"] == "DELETED")
                self.most_down = max(self.most_down, self._down())

    def finish(self) -> None:
        self.stop.set()
        self.join(timeout=30)


def roll_under_load(
    cluster: Cluster,
    token: str,
    *,
    meanwhile: Callable[[], None] = lambda: None,
    events: bool = True,
) -> None:
    """Ask for a roll (`kopfka.dev/roll: token`) while an acks=all idempotent producer writes,
    call `meanwhile` while it runs, and check what a user relies on: every node restarted exactly
    once, controllers first, never two down at once, Ready again, every acknowledged write read
    back exactly once, and (`events`) one NodeRestarted Event per node, then one RollFinished."""
    kube = cluster.kube
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    watch = PodWatch(kube, NAMESPACE, cluster.name)
    assert watch.most_down == 0, f"a node is down before the roll: {watch.up}"
    watch.start()
    # acks=all, idempotent, at 100 writes a second for as long as the roll takes.
    prefix = len(cluster.ledger) + 100
    producer = cluster.client.start_producing(
        TOPIC, count=10**6, value_prefix=prefix, throughput=100
    )
    kube.kubectl(
        "annotate",
        "--overwrite",
        "kafkacluster",
        cluster.name,
        "-n",
        NAMESPACE,
        f"kopfka.dev/roll={token}",
    )

    def rolled() -> Obj | None:
        found = cluster.get()
        rollout = found.get("status", {}).get("rollout", {})
        requested = rollout.get("requested") or {}
        done = requested.get("token") == token and requested.get("remaining") == []
        settled = done and "restarting" not in rollout and "step" not in rollout
        return found if settled and condition_true(found, "Ready") else None

    try:
        meanwhile()
        rolled_cluster = wait_for(
            rolled,
            timeout=ROLL_TIMEOUT,
            what="the requested roll to finish with the cluster Ready",
            describe=lambda: str(cluster.get().get("status", {}).get("rollout")),
        )
    finally:
        produced = producer.stop()
        watch.finish()

    assert watch.most_down == 1, f"at worst {watch.most_down} nodes were down at once"
    assert sorted(watch.restarted) == sorted(watch.nodes), watch.uids
    assert all(len(uids) == 2 for uids in watch.uids.values()), watch.uids
    controllers = [name for name in watch.restarted if "-controllers-" in name]
    assert watch.restarted[: len(controllers)] == controllers, watch.restarted
    reconciling = condition(rolled_cluster, "Reconciling")
    assert reconciling is not None
    assert reconciling["status"] == "False"

    assert not produced.failed, f"sends failed during the roll: {produced.failed[:5]}"
    assert len(produced.acked) > 1000, f"only {len(produced.acked)} writes during the roll"
    cluster.ledger |= set(produced.acked)
    values = cluster.client.consume_all(TOPIC, expected=len(cluster.ledger))
    missing = set(produced.acked) - set(values)
    assert not missing, f"{len(missing)} writes acknowledged during the roll are lost"
    twice = [value for value, count in Counter(values).items() if count > 1]
    assert not twice, f"{len(twice)} values were written twice, e.g. {twice[:5]}"
    if not events:
        return
    listed = json.loads(
        kube.kubectl(
            "get",
            "events",
            "-n",
            NAMESPACE,
            "-o",
            "json",
            "--field-selector",
            f"involvedObject.name={cluster.name},reason=NodeRestarted",
        )
    )["items"]
    messages = [e["message"] for e in listed if e["firstTimestamp"] >= started]
    for pod in watch.nodes:
        said = [m for m in messages if m.startswith(f"{pod} restarted and caught up")]
        assert len(said) == 1, (pod, messages)
    finished = json.loads(
        kube.kubectl(
            "get", "events", "-n", NAMESPACE, "-o", "json", "--field-selector",
            f"involvedObject.name={cluster.name},reason=RollFinished",
        )
    )["items"]  # fmt: skip
    assert len([e for e in finished if e["firstTimestamp"] >= started]) == 1, finished


def test_a_requested_roll_restarts_every_node_once_never_two_down_and_loses_no_acked_write(
    cluster: Cluster,
) -> None:
    roll_under_load(cluster, "e2e-1")


def roll_progress(cluster: Cluster, token: str, nodes: int) -> int:
    """How far the roll of `nodes` nodes asked for with `token` is, as a number that only grows:
    three steps per node (none under way, a restart recorded, its new pods made), counted over
    the nodes done."""
    rollout = cluster.get().get("status", {}).get("rollout", {})
    requested = rollout.get("requested") or {}
    if requested.get("token") != token:
        return 0
    pods = json.loads(
        cluster.kube.kubectl(
            "get", "pods", "-n", NAMESPACE, "-l", f"{CLUSTER_LABEL}={cluster.name}", "-o", "json"
        )
    )["items"]
    done = nodes - len(requested.get("remaining") or [])
    restarting = rollout.get("restarting") or {}
    if not restarting:
        return done * 3
    uids = {pod["metadata"]["name"]: pod["metadata"]["uid"] for pod in pods}
    replaced = all(uids.get(item["name"]) != item["uid"] for item in restarting.get("pods", []))
    return done * 3 + (2 if replaced else 1)


def test_a_roll_with_the_operator_killed_five_times_still_restarts_each_node_once(
    cluster: Cluster,
) -> None:
    kube = cluster.kube
    chance = random.Random()
    seed = chance.randrange(2**32)
    chance.seed(seed)
    token = "e2e-2"
    nodes = 6
    # Five of the points where an operator stop matters most, over all but the last restart: just
    # after a restart is recorded (its pod maybe not yet evicted), and while the restarted node
    # comes back and catches up.
    points = sorted(chance.sample([d * 3 + p for d in range(nodes - 1) for p in (1, 2)], 5))
    kills: list[int] = []

    def reached(point: int) -> int | None:
        at = roll_progress(cluster, token, nodes)
        return at if at >= point else None

    def kill_the_operator_at_five_points() -> None:
        for point in points:
            kills.append(
                wait_for(
                    lambda point=point: reached(point),
                    timeout=ROLL_TIMEOUT,
                    what=f"the roll to reach point {point}",
                )
            )
            kube.kubectl(
                "delete",
                "pod",
                "-n",
                OPERATOR_NAMESPACE,
                "-l",
                "app.kubernetes.io/component=operator",
                "--grace-period=0",
                "--force",
                "--wait=false",
            )

    try:
        # An operator killed between recording a finished restart and its Event leaves no
        # Event (Events are best effort); the restarts themselves are what is checked.
        roll_under_load(cluster, token, meanwhile=kill_the_operator_at_five_points, events=False)
    except AssertionError as error:
        raise AssertionError(
            f"{error} (operator killed at points {kills} of {points}, seed {seed})"
        ) from error
    assert len(kills) == 5
    assert max(kills) < nodes * 3, f"a kill came after the roll: {kills}"


def _patch_config(cluster: Cluster, config: dict[str, str | None]) -> None:
    patch = {"spec": {"kafka": {"config": config}}}
    cluster.kube.kubectl(
        "patch",
        "kafkacluster",
        cluster.name,
        "-n",
        NAMESPACE,
        "--type=merge",
        "-p",
        json.dumps(patch),
    )


def _condition_is(cluster: Cluster, kind: str, status: str, reason: str) -> Obj | None:
    found = cluster.get()
    generation = found["metadata"]["generation"]
    item = condition(found, kind)
    return (
        found
        if item is not None
        and (item["status"], item["reason"]) == (status, reason)
        and found.get("status", {}).get("observedGeneration") == generation
        else None
    )


def test_a_live_setting_reaches_every_broker_without_a_restart_and_a_refused_one_is_reported(
    cluster: Cluster,
) -> None:
    kube, client = cluster.kube, cluster.client
    before = {name: pod["metadata"]["uid"] for name, pod in cluster.pods().items()}
    week = "604800001"
    _patch_config(cluster, {"log.retention.ms": week})
    applied = wait_for(
        lambda: (
            (found := _condition_is(cluster, "Reconciling", "False", "Reconciled"))
            and client.broker_defaults().get("log.retention.ms") == week
            and found
        ),
        timeout=POD_TIMEOUT,
        what="log.retention.ms to become Kafka's cluster-wide default",
        describe=lambda: str(cluster.get().get("status", {}).get("conditions")),
    )
    assert "log.retention.ms" in applied["status"]["liveSettings"]["managed"]
    for broker in range(3):
        assert client.broker_setting(broker, "log.retention.ms") == week, broker
    # Applied live: not one pod restarted, and none waits for a restart.
    assert {name: pod["metadata"]["uid"] for name, pod in cluster.pods().items()} == before
    assert applied["status"]["rollout"]["pending"] == []

    # Kafka refuses more than twice the network threads a broker runs (3 by default), whatever
    # the spec's own checks allow: Degraded says so with Kafka's words, and nothing else changes.
    _patch_config(cluster, {"num.network.threads": "20"})
    refused = wait_for(
        lambda: _condition_is(cluster, "Degraded", "True", "LiveSettingRefused"),
        timeout=POD_TIMEOUT,
        what="the refused num.network.threads to be reported",
        describe=lambda: str(cluster.get().get("status", {}).get("conditions")),
    )
    degraded = condition(refused, "Degraded")
    assert degraded is not None
    assert "num.network.threads" in degraded["message"], degraded["message"]
    assert "kubectl logs" in degraded["message"], degraded["message"]
    assert "num.network.threads" not in client.broker_defaults()

    # Both taken out of the spec: the refusal clears, and the default kopfka set is removed.
    _patch_config(cluster, {"num.network.threads": None, "log.retention.ms": None})
    wait_for(
        lambda: (
            _condition_is(cluster, "Degraded", "False", "AsExpected")
            and "log.retention.ms" not in client.broker_defaults()
        ),
        timeout=POD_TIMEOUT,
        what="the spec's settings to be back in effect",
        describe=lambda: str(cluster.get().get("status", {}).get("conditions")),
    )
    assert {name: pod["metadata"]["uid"] for name, pod in cluster.pods().items()} == before
    # The work ran where a user sees it: a settings Job of this cluster, its pod and log kept.
    jobs = kube.list(
        "batch/v1", "Job", NAMESPACE, labels={"app.kubernetes.io/component": "settings-job"}
    )
    assert [job["metadata"]["name"].startswith(f"{cluster.name}-settings-") for job in jobs] == [
        True
    ]


def test_deleted_cluster_stops_cleanly_keeps_its_volumes_and_recreated_cluster_has_the_data(
    cluster: Cluster,
) -> None:
    kube = cluster.kube
    cluster_id = cluster.get()["status"]["clusterId"]
    claims = cluster.claims()
    assert len(claims) == 6

    kube.kubectl(
        "delete", "kafkacluster", "-n", NAMESPACE, cluster.name, "--wait=true", "--timeout=120s"
    )
    # The brokers stop first, while the controllers that must approve their controlled shutdown
    # still run (they are kept until the last broker pod is gone), well within the brokers'
    # 300 s grace period: a broker left without controllers would wait that long, then be killed.
    wait_for(
        lambda: not cluster.pods() and not kube.list("apps/v1", "StatefulSet", NAMESPACE),
        timeout=GONE_TIMEOUT,
        what="the cluster's pods and StatefulSets to go",
        describe=lambda: str(sorted(cluster.pods())),
    )
    assert cluster.claims() == claims, "volume claims changed when the cluster was deleted"

    kube.kubectl("apply", "-n", NAMESPACE, "-f", "-", stdin=yaml.safe_dump(cluster.manifest))
    obj = wait_ready(kube, cluster.name, NAMESPACE, timeout=READY_TIMEOUT)
    assert obj["status"]["clusterId"] == cluster_id
    assert cluster.claims() == claims
    # Each broker found the clean-shutdown marker it wrote when it stopped: no log recovery.
    for index in range(3):
        log = kube.kubectl("logs", "-n", NAMESPACE, f"{cluster.name}-brokers-{index}")
        assert CLEAN_START in log, f"broker {index} did not stop cleanly"
        assert UNCLEAN_START not in log, f"broker {index} recovered its logs"
    wait_for(
        lambda: not cluster.client.describe(TOPIC, under_replicated=True),
        timeout=ISR_TIMEOUT,
        what=f"every partition of {TOPIC} to be fully in sync after the re-creation",
    )
    cluster.assert_ledger_intact()
