"""The chart's monitoring contract against a real Prometheus: the server built from its Go module,
finding the pods through Kubernetes service discovery with scrape jobs made from the chart's own
PodMonitor and ServiceMonitor (e2e/suite/prometheus.py), and the chart's alert rule file loaded as
it ships. Every Kafka pod and the operator are targets that are up, with the labels the alerts
group by; the families the alerts read are there and say the cluster is healthy; every rule loads
and evaluates; and taking brokers away raises the alerts meant for it, which resolve once the
brokers are back.

Two ways of taking a broker away, both real and both undone by the test:

- a hung broker: its JVM stopped with SIGSTOP from this host (the node's containers are this
  host's processes). The pod stays, its metrics port stops answering: `up == 0` and KafkaPodDown
  pending. It is resumed within seconds, long before its liveness probe (30 s stale plus 6 failures
  10 s apart) would restart it; KafkaPodDown's 5 minutes are not waited for.
- a stopped broker: with the cluster paused (kopfka.dev/paused, so that kopfka leaves the
  StatefulSet alone, as for hand work) the brokers' StatefulSet is scaled down by one, which stops
  the last broker cleanly and keeps it away for as long as the test wants. The one partition of a
  topic with a single replica on it goes offline, so KafkaOfflinePartitions (1 minute) fires for
  real; the under-replicated and fenced-broker alerts (10 minutes) reach pending. Resuming makes
  kopfka restore the StatefulSet, the broker returns on its volume and every alert resolves.

The cluster is the module's own (one controller, three brokers, small resources), deleted at the
end with its claims; Prometheus runs for the module with its data in a temporary directory. The
host reaches the pods' addresses, so this module needs the local node (`e2e/node.sh`), not kind.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from e2e.suite.conftest import NAMESPACE, OPERATOR_NAMESPACE, RELEASE, chart_values
from e2e.suite.kafka_client import KafkaClient
from e2e.suite.prometheus import Prometheus, config
from tests.support import chart
from tests.support.clusters import wait_condition, wait_ready
from tests.support.kube import Obj, TestKube
from tests.support.manifests import kafka_cluster, one_controller
from tests.support.waiting import wait_for

NAME = "monitoring"
VERSION = "4.4.0"
BROKERS = 3
RULES_FILE = chart.CHART / "files" / "alerts.rules.yaml"
MONITORING_API = "monitoring.coreos.com/v1"
# A topic whose only partition has its only replica on the broker that is stopped, and one
# replicated on every broker.
LONE_TOPIC = "e2e-monitoring-lone"
REPLICATED_TOPIC = "e2e-monitoring"
STOPPED_BROKER = BROKERS - 1  # scaling the StatefulSet down stops the highest ordinal
HUNG_BROKER = 1
NODE = {
    "resources": {"requests": {"cpu": "100m", "memory": "768Mi"}, "limits": {"memory": "768Mi"}},
    "jvm": {"heap": "384Mi"},
    "storage": {"type": "persistent-claim", "size": "1Gi", "deleteClaim": True},
}
READY_TIMEOUT = 300.0
# A few scrape (10 s) and evaluation (5 s) intervals.
SCRAPE_TIMEOUT = 60.0
# KafkaOfflinePartitions' `for: 1m` after the broker's shutdown and fencing.
FIRING_TIMEOUT = 240.0
RECOVERY_TIMEOUT = 300.0
# What the cluster's own series say when it is healthy, and on which role's pods they are.
HEALTHY = {
    "kafka_server_under_replicated_partitions": ("broker", "sum", 0),
    "kafka_server_under_min_isr_partitions": ("broker", "sum", 0),
    "kafka_controller_active_controller_count": ("controller", "sum", 1),
    "kafka_controller_offline_partitions": ("controller", "max", 0),
    "kafka_controller_fenced_brokers": ("controller", "max", 0),
    "kafka_controller_active_brokers": ("controller", "max", BROKERS),
}


def manifest() -> Obj:
    return kafka_cluster(NAME, NAMESPACE, one_controller(VERSION, BROKERS, NODE))


def of_cluster(**labels: str) -> str:
    """A PromQL selector of the module cluster's series."""
    matchers = {"namespace": NAMESPACE, "cluster": NAME, **labels}
    return "{" + ",".join(f'{key}="{value}"' for key, value in matchers.items()) + "}"


@pytest.fixture(scope="module")
def cluster(kube: TestKube, namespace: str, operator: str) -> Iterator[KafkaClient]:
    kube.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest()))
    wait_ready(kube, NAME, namespace, timeout=READY_TIMEOUT)
    client = KafkaClient(kube, namespace, bootstrap=f"{NAME}-kafka-bootstrap.{namespace}.svc:9092")
    client.start(f"kopfka/kafka:{VERSION}")
    client.create_topic(REPLICATED_TOPIC, partitions=BROKERS, replicas=BROKERS, min_isr=2)
    client.run_tool(
        "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", client.bootstrap,
        "--create", "--if-not-exists", "--topic", LONE_TOPIC,
        "--replica-assignment", str(STOPPED_BROKER),
    )  # fmt: skip
    yield client
    # Resumed, should a test have stopped while it was paused: kopfka deletes it in order.
    kube.merge_patch(
        "kopfka.dev/v1alpha1", "KafkaCluster", NAME, namespace,
        {"metadata": {"annotations": {"kopfka.dev/paused": None}}},
    )  # fmt: skip
    kube.kubectl("delete", "kafkacluster", NAME, "-n", namespace, "--ignore-not-found")


@pytest.fixture(scope="module")
def prometheus(
    kube: TestKube, operator: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Prometheus]:
    rendered = chart.render(
        release=RELEASE,
        namespace=OPERATOR_NAMESPACE,
        values=chart_values(NAMESPACE),
        api_versions=[MONITORING_API],
    )
    monitors = [obj for obj in rendered if obj["kind"] in ("PodMonitor", "ServiceMonitor")]
    assert sorted(obj["kind"] for obj in monitors) == ["PodMonitor", "ServiceMonitor"], monitors
    settings = config(monitors, kubeconfig=kube.kubeconfig, rule_file=RULES_FILE)
    server = Prometheus.start(settings, directory=tmp_path_factory.mktemp("prometheus"))
    yield server
    server.stop()


def kafka_pods(kube: TestKube) -> dict[str, Obj]:
    pods = kube.list(
        "v1",
        "Pod",
        NAMESPACE,
        labels={"kopfka.dev/cluster": NAME, "app.kubernetes.io/name": "kafka"},
    )
    return {pod["metadata"]["name"]: pod for pod in pods}


def cluster_alerts(prometheus: Prometheus) -> list[str]:
    """The module cluster's active alerts, as `name state` each."""
    return sorted(
        f"{alert['labels']['alertname']} {alert['state']}"
        for alert in prometheus.api("alerts")["alerts"]
        if alert["labels"].get("namespace") == NAMESPACE and alert["labels"].get("cluster") == NAME
    )


def unhealthy(prometheus: Prometheus) -> list[str]:
    """The families of HEALTHY whose value is not the healthy one (missing ones included)."""
    found = []
    for family, (_, aggregate, healthy) in HEALTHY.items():
        values = prometheus.query(f"{aggregate}({family}{of_cluster()})")
        if [value for _, value in values] != [healthy]:
            found.append(f"{family}: {values}")
    return found


def wait_all_clear(prometheus: Prometheus, what: str) -> None:
    """Until every family of HEALTHY has its healthy value and the cluster has no alert."""
    wait_for(
        lambda: not unhealthy(prometheus) and not cluster_alerts(prometheus),
        timeout=RECOVERY_TIMEOUT,
        what=what,
        describe=lambda: f"{unhealthy(prometheus)}; alerts {cluster_alerts(prometheus)}",
        interval=1.0,
    )


def jvm_pid(pod: Obj) -> int:
    """This host's process id of the pod's Kafka JVM: the first process of its container (the
    entrypoint execs the JVM), found by the container's id in the processes' cgroups."""
    status = next(s for s in pod["status"]["containerStatuses"] if s["name"] == "kafka")
    container = status["containerID"].split("://", 1)[1]
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if container not in (proc / "cgroup").read_text():
                continue
            nspid = next(
                line
                for line in (proc / "status").read_text().splitlines()
                if line.startswith("NSpid:")
            )
        except OSError:  # the process ended meanwhile
            continue
        if nspid.split()[-1] == "1":
            return int(proc.name)
    raise AssertionError(f"no process of container {container} runs on this host")


def wait_scraped(prometheus: Prometheus, family: str, pods: set[str]) -> None:
    """Wait until the cluster's series of `family` come from exactly `pods`."""
    wait_for(
        lambda: (
            {labels["pod"] for labels, _ in prometheus.query(f"{family}{of_cluster()}")} == pods
        ),
        timeout=SCRAPE_TIMEOUT,
        what=f"{family} from each of {sorted(pods)}",
        describe=lambda: str(prometheus.query(f"{family}{of_cluster()}")),
        interval=1.0,
    )


def test_every_kafka_pod_and_the_operator_are_targets_up_with_the_labels_the_alerts_use(
    kube: TestKube, cluster: KafkaClient, prometheus: Prometheus
) -> None:
    pods = kafka_pods(kube)
    expected = {
        (
            name,
            pod["metadata"]["labels"]["kopfka.dev/role"],
            pod["metadata"]["labels"]["kopfka.dev/node-id"],
        )
        for name, pod in pods.items()
    }
    assert len(expected) == 1 + BROKERS, pods.keys()

    def targets() -> set[tuple[str, str, str]]:
        return {
            (labels["pod"], labels["role"], labels["node_id"])
            for labels, value in prometheus.query(f"up{of_cluster()}")
            if value == 1
        }

    wait_for(
        lambda: targets() == expected,
        timeout=SCRAPE_TIMEOUT,
        what="every Kafka pod of the cluster to be a target that is up",
        describe=lambda: (
            f"up: {prometheus.query(f'up{of_cluster()}')}, expected {expected}; "
            f"{prometheus.target_errors()}"
        ),
        interval=1.0,
    )
    operator = wait_for(
        lambda: prometheus.query('up{job="kopfka"} == 1'),
        timeout=SCRAPE_TIMEOUT,
        what="the operator to be a target that is up with job kopfka",
        describe=lambda: str(prometheus.api("targets", {"state": "active"})),
        interval=1.0,
    )
    assert len(operator) == 1, operator


def test_the_families_the_alerts_read_are_scraped_per_role_and_say_healthy(
    kube: TestKube, cluster: KafkaClient, prometheus: Prometheus
) -> None:
    pods = kafka_pods(kube)
    for family, (role, _, _) in HEALTHY.items():
        of_role = {
            name
            for name, pod in pods.items()
            if pod["metadata"]["labels"]["kopfka.dev/role"] == role
        }
        wait_scraped(prometheus, family, of_role)
    assert unhealthy(prometheus) == []
    for family in ("kopfka_reconciles_total", "kopfka_resources"):
        assert prometheus.query(f'{family}{{job="kopfka"}}'), f"the operator serves no {family}"
    # A scrape that failed for a moment on a busy machine makes KafkaPodDown pending until the
    # next one succeeds; none stays.
    wait_for(
        lambda: not cluster_alerts(prometheus),
        timeout=SCRAPE_TIMEOUT,
        what="no alert of the healthy cluster to be active",
        describe=lambda: f"{cluster_alerts(prometheus)}; {prometheus.target_errors()}",
        interval=1.0,
    )


def test_the_shipped_rule_file_loads_and_every_rule_evaluates(prometheus: Prometheus) -> None:
    shipped = yaml.safe_load(RULES_FILE.read_text())
    expected = {
        group["name"]: [rule["alert"] for rule in group["rules"]] for group in shipped["groups"]
    }

    def evaluated() -> list[Obj] | None:
        groups: list[Obj] = prometheus.api("rules")["groups"]
        rules = [rule for group in groups for rule in group["rules"]]
        return groups if rules and all(rule["health"] != "unknown" for rule in rules) else None

    groups = wait_for(
        evaluated,
        timeout=SCRAPE_TIMEOUT,
        what="every rule to be evaluated once",
        describe=lambda: str(prometheus.api("rules")),
        interval=1.0,
    )
    assert {group["file"] for group in groups} == {str(RULES_FILE)}
    assert {
        group["name"]: [rule["name"] for rule in group["rules"]] for group in groups
    } == expected
    failing = {
        rule["name"]: rule.get("lastError")
        for group in groups
        for rule in group["rules"]
        if rule["health"] != "ok" or rule["type"] != "alerting"
    }
    assert failing == {}


def test_a_hung_broker_is_a_down_target_and_kafka_pod_down_is_pending_until_it_resumes(
    kube: TestKube, cluster: KafkaClient, prometheus: Prometheus
) -> None:
    pod_name = f"{NAME}-brokers-{HUNG_BROKER}"
    pod = kube.must_get("v1", "Pod", pod_name, NAMESPACE)
    pid = jvm_pid(pod)
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(
            lambda: prometheus.query(f"up{of_cluster(pod=pod_name)} == 0"),
            timeout=SCRAPE_TIMEOUT,
            what=f"the hung {pod_name} to be a target that is down",
            interval=1.0,
        )
        [alert] = wait_for(
            lambda: prometheus.alerts("KafkaPodDown", namespace=NAMESPACE, pod=pod_name),
            timeout=SCRAPE_TIMEOUT,
            what=f"KafkaPodDown for {pod_name}",
            describe=lambda: str(prometheus.api("alerts")),
            interval=1.0,
        )
    finally:
        os.kill(pid, signal.SIGCONT)
    assert alert["state"] == "pending", alert
    assert alert["labels"]["cluster"] == NAME
    assert alert["labels"]["role"] == "broker"
    assert alert["labels"]["severity"] == "warning"
    assert pod_name in alert["annotations"]["summary"]

    wait_for(
        lambda: (
            not prometheus.alerts("KafkaPodDown", namespace=NAMESPACE, pod=pod_name)
            and prometheus.query(f"up{of_cluster(pod=pod_name)} == 1")
        ),
        timeout=SCRAPE_TIMEOUT,
        what=f"{pod_name} to be up again and KafkaPodDown gone",
        describe=lambda: str(prometheus.api("alerts")),
        interval=1.0,
    )
    # The JVM carried on: the same process, the container not restarted.
    assert Path(f"/proc/{pid}").exists()
    after = kube.must_get("v1", "Pod", pod_name, NAMESPACE)
    restarts = [s["restartCount"] for s in after["status"]["containerStatuses"]]
    assert restarts == [s["restartCount"] for s in pod["status"]["containerStatuses"]]
    wait_all_clear(prometheus, "the cluster's series to be healthy again and no alert left")


def test_a_stopped_broker_fires_offline_partitions_and_every_alert_resolves_when_it_is_back(
    kube: TestKube, cluster: KafkaClient, prometheus: Prometheus
) -> None:
    pod_name = f"{NAME}-brokers-{STOPPED_BROKER}"
    kube.kubectl("annotate", "kafkacluster", NAME, "-n", NAMESPACE, "kopfka.dev/paused=true")
    wait_condition(
        kube, "KafkaCluster", NAME, NAMESPACE,
        type="Reconciling", status="False", reason="Paused", generation=False,
    )  # fmt: skip
    kube.kubectl(
        "scale", "statefulset", f"{NAME}-brokers", "-n", NAMESPACE, f"--replicas={BROKERS - 1}"
    )
    wait_for(
        lambda: kube.get("v1", "Pod", pod_name, NAMESPACE) is None,
        timeout=RECOVERY_TIMEOUT,
        what=f"{pod_name} to stop",
    )
    [offline] = wait_for(
        lambda: [
            alert
            for alert in prometheus.alerts(
                "KafkaOfflinePartitions", namespace=NAMESPACE, cluster=NAME
            )
            if alert["state"] == "firing"
        ],
        timeout=FIRING_TIMEOUT,
        what="KafkaOfflinePartitions to fire",
        describe=lambda: f"alerts {cluster_alerts(prometheus)}",
        interval=1.0,
    )
    assert offline["labels"]["severity"] == "critical"
    assert float(offline["value"]) == 1, offline  # the lone topic's one partition
    alerts = cluster_alerts(prometheus)
    assert "KafkaUnderReplicatedPartitions pending" in alerts, alerts
    assert "KafkaBrokersFenced pending" in alerts, alerts

    kube.kubectl("annotate", "kafkacluster", NAME, "-n", NAMESPACE, "kopfka.dev/paused-")
    wait_for(
        lambda: prometheus.query(f"up{of_cluster(pod=pod_name)} == 1"),
        timeout=RECOVERY_TIMEOUT,
        what=f"{pod_name} to be back as a target that is up",
        interval=1.0,
    )
    wait_ready(kube, NAME, NAMESPACE, timeout=RECOVERY_TIMEOUT)
    wait_all_clear(prometheus, "every alert of the cluster to resolve")
