"""The reference column of bench/topics.py: Strimzi's topic operator with the same KafkaTopics.

Issue 11's goal for KafkaTopics at scale is a ratio as well as a number: kopfka in at most half the
time and half the memory of the reference operator, measured side by side in the same run, on the
same control plane and the same kind of Kafka cluster. This module runs the reference for a size
right after kopfka's run of it, and measures it the way bench/topics.py measures kopfka:

- a fresh KafkaCluster of exactly the spec of kopfka's run (made by kopfka, which is then scaled to
  0 replicas so that it uses no CPU during the measurement, and restored afterwards);
- Strimzi's Unidirectional Topic Operator, built from source beforehand by
  ../shared/peers/strimzi/build.sh (`make bench-peer-strimzi`; the benchmark never builds it, and
  without it the report says `peer: {skipped: ...}`), started by run-topic-operator.sh as a JVM on
  this host, against the same kube-apiserver and, in plain text, the new cluster's brokers. The JVM
  gets the memory of its own pod (the limit of Strimzi's topic operator Deployment, as
  -XX:MaxRAM); this host cannot resolve the pod DNS names Kafka advertises, so each broker's name
  is mapped to its pod IP (routable over the node's bridge) by lines in /etc/hosts while it runs;
- Strimzi's KafkaTopic CRD, the same N topics as its own KafkaTopic kind (1 partition, 3 replicas,
  labelled with the cluster) created the same way (the same threads), and the same figures: time
  until every one is Ready for its generation, peak RSS (VmHWM, reset at the start), CPU seconds,
  API writes per topic, and every topic checked in Kafka.

Then the JVM is stopped, its KafkaTopics' finalizers removed (it is no longer there to remove
them), the KafkaTopics, the CRD, the /etc/hosts lines and the cluster deleted and kopfka restored,
also on failure or Ctrl-C/SIGTERM; `teardown()` removes what a killed run left. A JVM that dies
during the run (out of memory) is a result, not an error: the report says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes
import yaml

from bench.e2e import _busy_seconds, signals_ignored
from bench.node import wait_alone
from bench.topics import (
    GOAL_TOPICS,
    MIB,
    NAMESPACE,
    OPERATOR_LABELS,
    OPERATOR_NAMESPACE,
    OPERATOR_TIMEOUT,
    PEER_RSS_RATIO_GOAL,
    PEER_TIME_RATIO_GOAL,
    RELEASE,
    REPLICATION_FACTOR,
    SAMPLE_SECONDS,
    Creates,
    JobProgress,
    Monitor,
    Operator,
    SizeRun,
    TopicKind,
    TopicProgress,
    Watcher,
    _own,
    _writes_net,
    api_client,
    cluster_manifest,
    cpu_delta,
    delete_cluster,
    delete_topics,
    list_topics,
    run_figures,
    topic_names,
    topic_writes,
    verify,
)
from e2e.suite.kafka_client import KafkaClient
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from tests.support.clusters import wait_ready
from tests.support.kube import Obj, TestKube, condition_true
from tests.support.waiting import Timeout, wait_for

STRIMZI_TOPICS = TopicKind("kafka.strimzi.io", "v1", "kafkatopics", ("topicName", "topicId"))
CRD_NAME = "kafkatopics.kafka.strimzi.io"
CRD_FILE = "packaging/install/topic-operator/04-Crd-kafkatopic.yaml"
DEPLOYMENT_FILE = "packaging/install/topic-operator/05-Deployment-strimzi-topic-operator.yaml"
CLUSTER_LABEL = "strimzi.io/cluster"  # how Strimzi's KafkaTopics name their cluster
OURS = {"kopfka.dev/benchmark": "topics-peer"}  # on the CRD: installed by this benchmark
MAIN_CLASS = "io.strimzi.operator.topic.Main"
HEALTH_URL = "http://127.0.0.1:8080/ready"  # its health server's port is fixed
HEALTH_PORT = 8080
HOSTS = Path("/etc/hosts")
HOSTS_MARKER = "# kopfka-bench-topics-peer"
PID_FILE = Path("/run/kopfka-bench-topics-peer.pid")  # a killed run's JVM, for the next run
START_TIMEOUT = 180.0  # the JVM until its /ready answers
STOP_TIMEOUT = 60.0
GONE_TIMEOUT = 300.0
CLEANUP_THREADS = 16
OUT_OF_MEMORY_EXIT = 3  # -XX:+ExitOnOutOfMemoryError
OUT_OF_MEMORY = "java.lang.OutOfMemoryError"  # its log (its config dump names the flag too)
BUILD_TARGET = "make bench-peer-strimzi"


class PeerExited(RuntimeError):
    """The topic operator's JVM is gone (out of memory, or it refused to start)."""


# -- what is built, and the options ---------------------------------------------------------------


def _script(args: argparse.Namespace) -> Path:
    return Path(args.peers_dir) / "strimzi" / "run-topic-operator.sh"


def _jar(src: Path) -> Path | None:
    return next(iter(sorted((src / "topic-operator/target").glob("topic-operator-*.jar"))), None)


def unavailable(args: argparse.Namespace) -> str | None:
    """Why the reference cannot run here (it is not built, or the scripts are not there); None
    when it can."""
    src, script = Path(args.peer_src), _script(args)
    if not script.is_file():
        return f"no {script}: the peers' scripts are not there (--peers-dir, PEERS_DIR)"
    if _jar(src) is None or not (src / "topic-operator/target/classpath.txt").is_file():
        return (
            f"Strimzi's topic operator is not built (no topic-operator JAR, classpath in {src}): "
            f"`{BUILD_TARGET} STRIMZI_GIT=<a git repository of strimzi/strimzi-kafka-operator>` "
            "builds it with Maven Central (tens of minutes with a cold ~/.m2); the benchmark "
            "never builds it"
        )
    if not (src / CRD_FILE).is_file():
        return f"no {src / CRD_FILE} in the built checkout"
    return None


def operator_name(src: Path) -> str:
    """The reference as built: "strimzi topic-operator <version> (<commit>)"."""
    jar = _jar(src)
    version = jar.stem.removeprefix("topic-operator-") if jar is not None else "?"
    commit = subprocess.run(
        ["git", "-C", str(src), "rev-parse", "--short=10", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"strimzi topic-operator {version} ({commit or 'commit unknown'})"


def pod_limits(src: Path) -> dict[str, str]:
    """The resource limits of Strimzi's own topic operator Deployment (packaging/install)."""
    deployment = yaml.safe_load((src / DEPLOYMENT_FILE).read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {key: str(value) for key, value in container["resources"]["limits"].items()}


def max_ram_flag(limit: str) -> str:
    """-XX:MaxRAM for a Kubernetes memory quantity in Mi or Gi: the JVM sizes itself (its heap
    is a percentage of it) as in a container with that limit."""
    units = {"Mi": "m", "Gi": "g"}
    number, unit = limit[:-2], limit[-2:]
    if unit not in units or not number.isdigit():
        raise ValueError(f"memory limit {limit!r}: only Mi or Gi handled")
    return f"-XX:MaxRAM={number}{units[unit]}"


# -- Strimzi's KafkaTopics: the CRD, the topics, their removal ------------------------------------


def topic_manifest(name: str, cluster: str) -> Obj:
    """Strimzi's KafkaTopic of one partition and 3 replicas, for the cluster named by its label
    (as Strimzi's topic operator selects them)."""
    group, version, _ = STRIMZI_TOPICS.resource
    return {
        "apiVersion": f"{group}/{version}",
        "kind": "KafkaTopic",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {CLUSTER_LABEL: cluster}},
        "spec": {"partitions": 1, "replicas": REPLICATION_FACTOR},
    }


def _crd(kube: TestKube) -> Obj | None:
    return kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", CRD_NAME)


def install_crd(kube: TestKube, src: Path) -> None:
    """Strimzi's KafkaTopic CRD from the built checkout, labelled as this benchmark's."""
    existing = _crd(kube)
    if existing is not None and not _is_ours(existing):
        raise RuntimeError(f"CRD {CRD_NAME} exists and is not this benchmark's: not touching it")
    crd = yaml.safe_load((src / CRD_FILE).read_text())
    crd["metadata"].setdefault("labels", {}).update(OURS)
    kube.apply(crd)
    wait_for(
        lambda: condition_true(_crd(kube), "Established"),
        timeout=OPERATOR_TIMEOUT,
        what=f"CRD {CRD_NAME} to be established",
    )


def _is_ours(crd: Obj) -> bool:
    labels = crd["metadata"].get("labels") or {}
    return all(labels.get(key) == value for key, value in OURS.items())


def remove_topics(kube: TestKube) -> None:
    """Strimzi's KafkaTopics of the namespace gone, with the operator stopped: their finalizers
    removed (one merge patch each, in parallel), then one delete-collection request. Their
    topics stay in Kafka, whose cluster goes next."""
    crd = _crd(kube)
    if crd is None or not _is_ours(crd):
        return
    held = [t["metadata"]["name"] for t in list_topics(kube, STRIMZI_TOPICS)]
    group, version, plural = STRIMZI_TOPICS.resource
    with api_client(kube.kubeconfig, CLEANUP_THREADS) as client:
        api = kubernetes.client.CustomObjectsApi(client)

        def unfinalize(name: str) -> None:
            with contextlib.suppress(kubernetes.client.ApiException):  # gone meanwhile
                api.patch_namespaced_custom_object(
                    group, version, NAMESPACE, plural, name, {"metadata": {"finalizers": None}}
                )

        with ThreadPoolExecutor(CLEANUP_THREADS, thread_name_prefix="unfinalize") as pool:
            list(pool.map(unfinalize, held))
    delete_topics(kube, STRIMZI_TOPICS)


def delete_crd(kube: TestKube) -> None:
    crd = _crd(kube)
    if crd is None or not _is_ours(crd):
        return
    kube.kubectl("delete", "crd", CRD_NAME, "--ignore-not-found", "--wait=false")
    wait_for(lambda: _crd(kube) is None, timeout=GONE_TIMEOUT, what=f"CRD {CRD_NAME} to go")


# -- kopfka out of the way -----------------------------------------------------------------------


def operator_replicas(kube: TestKube) -> int:
    deployment = kube.get("apps/v1", "Deployment", RELEASE, OPERATOR_NAMESPACE)
    if deployment is None:
        raise RuntimeError(f"no Deployment {OPERATOR_NAMESPACE}/{RELEASE}")
    return int(deployment["spec"].get("replicas", 1))


def scale_operator(kube: TestKube, replicas: int) -> None:
    """kopfka's Deployment scaled to `replicas`, and its pods as many (the old ones gone)."""
    kube.kubectl(
        "scale", f"deployment/{RELEASE}", "-n", OPERATOR_NAMESPACE, f"--replicas={replicas}"
    )
    if replicas:
        kube.kubectl(
            "rollout", "status", f"deployment/{RELEASE}", "-n", OPERATOR_NAMESPACE,
            f"--timeout={OPERATOR_TIMEOUT:.0f}s",
        )  # fmt: skip
    wait_for(
        lambda: len(kube.list("v1", "Pod", OPERATOR_NAMESPACE, OPERATOR_LABELS)) == replicas,
        timeout=OPERATOR_TIMEOUT,
        what=f"{replicas} kopfka operator pods",
    )


# -- the brokers' names on this host -------------------------------------------------------------


def broker_hosts(kube: TestKube, spec: ClusterSpec) -> dict[str, str]:
    """Each broker's advertised host name -> its pod IP."""
    found = {}
    for pool in spec.pools:
        if not pool.role.is_broker:
            continue
        for ordinal in range(pool.replicas):
            pod = kube.get("v1", "Pod", names.pod_name(spec.name, pool.role, ordinal), NAMESPACE)
            address = ((pod or {}).get("status") or {}).get("podIP")
            if not address:
                raise RuntimeError(f"broker pod {ordinal} of {spec.name} has no IP")
            found[names.pod_host(spec.name, NAMESPACE, pool.role, ordinal)] = address
    return found


def add_hosts(hosts: Mapping[str, str]) -> None:
    """Lines in /etc/hosts (as tests/kafka/localkafka.py adds its nodes'), marked as ours."""
    text = HOSTS.read_text()
    lines = "".join(f"{address} {host}  {HOSTS_MARKER}\n" for host, address in hosts.items())
    with HOSTS.open("a") as file:
        file.write(("" if not text or text.endswith("\n") else "\n") + lines)


def remove_hosts() -> None:
    lines = HOSTS.read_text().splitlines()
    kept = [line for line in lines if HOSTS_MARKER not in line]
    if kept != lines:
        HOSTS.write_text("\n".join(kept) + "\n")


# -- the topic operator's JVM --------------------------------------------------------------------


@dataclass
class HostProcess(Operator):
    """A process on this host (the peer's JVM), read as Operator reads kopfka's container."""

    pid: int = 0

    def pids(self) -> list[int]:
        return [self.pid] if Path(f"/proc/{self.pid}/status").exists() else []

    def cpu_seconds(self) -> float | None:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text()
        except OSError:
            return None
        fields = stat[stat.rindex(")") + 2 :].split()
        return sum(int(value) for value in fields[11:13]) / os.sysconf("SC_CLK_TCK")


@dataclass
class TopicOperatorJvm:
    """run-topic-operator.sh, which execs the JVM: the process is the JVM."""

    process: subprocess.Popen[bytes]
    log: Path
    started: float

    @classmethod
    def start(cls, script: Path, env: Mapping[str, str], log: Path) -> TopicOperatorJvm:
        """With only `env`, PATH and HOME: it logs its whole environment when it starts."""
        if _port_in_use(HEALTH_PORT):
            raise RuntimeError(f"port {HEALTH_PORT} is in use: the topic operator needs it")
        with log.open("ab") as out:
            process = subprocess.Popen(
                [str(script)],
                env={"PATH": os.environ["PATH"], "HOME": str(Path.home()), **env},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        PID_FILE.write_text(f"{process.pid}\n")
        return cls(process, log, time.monotonic())

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        """True while it runs; PeerExited, with its log's end, once it is gone."""
        code = self.process.poll()
        if code is None:
            return True
        raise PeerExited(f"the topic operator exited with {code}: {self.log_tail(800)}")

    def ready(self) -> bool:
        self.alive()
        try:
            with urllib.request.urlopen(HEALTH_URL, timeout=2) as answer:
                return int(answer.status) == 200
        except (urllib.error.URLError, OSError):
            return False

    def command(self) -> tuple[str, list[str]]:
        """The java binary run-topic-operator.sh chose, and the JVM's options as it runs (the
        script adds its image's own to JAVA_OPTS)."""
        argv = Path(f"/proc/{self.pid}/cmdline").read_bytes().decode().split("\0")
        return argv[0], argv[1 : argv.index("-cp")] if "-cp" in argv else argv[1:]

    def stop(self) -> int:
        """SIGTERM (its shutdown hook), then SIGKILL after STOP_TIMEOUT; its exit code."""
        with signals_ignored():
            if self.process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGTERM)
                try:
                    self.process.wait(timeout=STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(self.pid, signal.SIGKILL)
                    self.process.wait(timeout=STOP_TIMEOUT)
            PID_FILE.unlink(missing_ok=True)
            return int(self.process.returncode)

    def log_tail(self, chars: int) -> str:
        return self.log.read_text(errors="replace")[-chars:]

    def log_summary(self) -> dict[str, Any]:
        lines = self.log.read_text(errors="replace").splitlines()
        errors = [line for line in lines if " ERROR " in line or "Exception" in line]
        warnings = [line for line in lines if " WARN " in line]
        return {
            "file": str(self.log),
            "lines": len(lines),
            "errors": len(errors),
            "warnings": len(warnings),
            "first_errors": [line[:400] for line in errors[:5]],
            "out_of_memory": any(OUT_OF_MEMORY in line for line in lines),
        }


def _port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def kill_leftover() -> None:
    """The JVM a killed run left (its pid file), if that process is still the topic operator."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(PID_FILE.read_text())
        if MAIN_CLASS in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
            os.kill(pid, signal.SIGKILL)
            wait_for(
                lambda: not Path(f"/proc/{pid}").exists(),
                timeout=STOP_TIMEOUT,
                what=f"the topic operator left by an earlier run (pid {pid}) to exit",
            )
    PID_FILE.unlink(missing_ok=True)


def teardown(kube: TestKube) -> None:
    """What an interrupted run of the reference left: its JVM, /etc/hosts lines, KafkaTopics and
    CRD (the benchmark's own teardown then removes the cluster and restores the rest)."""
    kill_leftover()
    remove_hosts()
    if kube.get("v1", "Namespace", NAMESPACE) is not None:
        remove_topics(kube)
    delete_crd(kube)


# -- one size --------------------------------------------------------------------------------------


@dataclass
class PeerRun(SizeRun):
    """The reference for one size: a fresh cluster of the same spec as kopfka's run, Strimzi's
    topic operator on this host, the same N topics as its KafkaTopics, the same figures."""

    @property
    def cluster(self) -> str:
        return f"bench-{self.index}-peer"

    def run(self) -> dict[str, Any]:
        name, src = self.cluster, Path(self.args.peer_src)
        manifest = cluster_manifest(name, self.args)
        spec = parse_cluster(name, NAMESPACE, manifest["spec"])
        limits = pod_limits(src)
        result: dict[str, Any] = {
            "operator": operator_name(src),
            "topics": self.size,
            "cluster": name,
            "kafka_version": spec.version,
            "its_pod_limits": limits,
        }
        undo = contextlib.ExitStack()
        try:
            try:
                result.update(self.steps(undo, spec, manifest, max_ram_flag(limits["memory"])))
            except Exception as error:  # its own failure, recorded: kopfka's sizes go on
                result["error"] = f"{type(error).__name__}: {error}"[:2000]
        finally:
            with signals_ignored():
                cleanup = time.monotonic()
                undo.close()
                print(f"  the reference removed in {time.monotonic() - cleanup:.0f} s", flush=True)
        return result

    def steps(
        self, undo: contextlib.ExitStack, spec: ClusterSpec, manifest: Obj, max_ram: str
    ) -> dict[str, Any]:
        """Each step with its undo registered before it, so that the undo (in reverse) cleans up
        what a failure or an interruption leaves."""
        kube, name, args = self.kube, self.cluster, self.args
        src = Path(args.peer_src)
        wait_alone(kube, args.others_timeout, own_namespace=OPERATOR_NAMESPACE, watched=NAMESPACE)
        print(
            f"size {self.size}, the reference: making KafkaCluster {NAMESPACE}/{name}", flush=True
        )
        began = time.monotonic()
        undo.callback(delete_cluster, kube, name)
        kube.apply(manifest)
        wait_ready(kube, name, NAMESPACE, timeout=args.cluster_timeout)
        print(f"  Ready in {time.monotonic() - began:.0f} s", flush=True)
        port = spec.listeners[0].port
        client = KafkaClient(
            kube, NAMESPACE, bootstrap=names.bootstrap_address(name, NAMESPACE, port)
        )
        client.start(f"kopfka/kafka:{spec.version}")
        undo.callback(scale_operator, kube, operator_replicas(kube))
        scale_operator(kube, 0)
        undo.callback(delete_crd, kube)
        install_crd(kube, src)
        undo.callback(remove_topics, kube)
        undo.callback(remove_hosts)
        hosts = broker_hosts(kube, spec)
        add_hosts(hosts)
        env = {
            "STRIMZI_SRC": str(src),
            "BOOTSTRAP": ",".join(f"{host}:{port}" for host in hosts),
            "KUBECONFIG": str(kube.kubeconfig),
            "STRIMZI_NAMESPACE": NAMESPACE,
            "STRIMZI_RESOURCE_LABELS": f"{CLUSTER_LABEL}={name}",
            "JAVA_OPTS": max_ram,
            **dict(item.split("=", 1) for item in args.peer_env),
        }
        jvm = TopicOperatorJvm.start(_script(args), env, self.work / f"strimzi-{self.size}.log")
        undo.callback(jvm.stop)
        wait_for(
            jvm.ready,
            timeout=START_TIMEOUT,
            what=f"the topic operator's {HEALTH_URL} (log: {jvm.log})",
            interval=SAMPLE_SECONDS,
        )
        started = round(time.monotonic() - jvm.started, 1)
        print(f"  the topic operator (pid {jvm.pid}) ready in {started} s", flush=True)
        java, flags = jvm.command()
        facts: dict[str, Any] = {
            "java": java,
            "jvm_flags": flags,
            "java_opts_given": max_ram,
            "environment": {k: v for k, v in env.items() if k != "KUBECONFIG"},
            "start_seconds": started,
            "bootstrap_hosts": hosts,
            **self.quiet(),
        }
        facts.update(self.measure_peer(jvm))
        if "error" not in facts and "exited" not in facts:
            print("  checking the reference's topics against Kafka", flush=True)
            writes = topic_writes(kube, STRIMZI_TOPICS)
            facts["verified"] = verify(kube, client, topic_names(self.size), STRIMZI_TOPICS)
            facts["api_writes_while_checking"] = _writes_net(
                topic_writes(kube, STRIMZI_TOPICS), writes, 0
            )
        code = jvm.stop()
        facts.setdefault("exit_code", code)
        facts["log"] = jvm.log_summary()
        return facts

    def measure_peer(self, jvm: TopicOperatorJvm) -> dict[str, Any]:
        kube, size, args = self.kube, self.size, self.args
        expected = topic_names(size)
        manifests = [topic_manifest(topic, self.cluster) for topic in expected]
        process = HostProcess(
            pod=f"pid {jvm.pid} on this host", restarts=0, memory=None, cpu=None, pid=jvm.pid
        )
        topics = TopicProgress(frozenset(expected))
        creates = Creates(kube.kubeconfig, args.apply_threads, STRIMZI_TOPICS)
        others = self.other_pods()
        writes_before = topic_writes(kube, STRIMZI_TOPICS)
        rss_before, reset = process.rss_bytes(), process.reset_peaks()
        cpu_before, busy_before, own_before = process.cpu_seconds(), _busy_seconds(), _own()
        result: dict[str, Any] = {}
        print(f"  applying {size} of Strimzi's KafkaTopics", flush=True)
        with (
            Watcher(kube, STRIMZI_TOPICS.resource, "", topics.seen) as watch,
            Monitor(process, topics, JobProgress(), creates.created) as monitor,
        ):

            def done() -> float | None:
                if watch.error is not None:
                    raise RuntimeError(f"the watch of the benchmark failed: {watch.error!r}")
                jvm.alive()
                return topics.all_ready_at

            began = topics.began = time.monotonic()
            creates.run(manifests)
            applied = time.monotonic()
            print(f"  applied in {applied - began:.1f} s", flush=True)
            try:
                wait_for(
                    done,
                    timeout=args.ready_timeout,
                    what=f"{size} of Strimzi's KafkaTopics to be Ready",
                    describe=topics.describe,
                    interval=SAMPLE_SECONDS,
                )
            except Timeout as error:
                result["error"] = str(error)
            except PeerExited as error:
                result["exited"] = {
                    "after_s": round(time.monotonic() - began, 1),
                    "exit_code": jvm.process.returncode,
                    "out_of_memory": jvm.process.returncode == OUT_OF_MEMORY_EXIT
                    or OUT_OF_MEMORY in jvm.log_tail(20_000),
                    "message": str(error)[:1000],
                }
                print(f"  the topic operator died: {error}", flush=True)
            settled = time.monotonic()
            monitor.report()
            writes_after = topic_writes(kube, STRIMZI_TOPICS)
            peak, cpu_after = process.peak_rss_bytes(), process.cpu_seconds()
            busy_after, own_after = _busy_seconds(), _own()
        wall = settled - began
        sampled = max(monitor.samples, default=0)
        writes = _writes_net(writes_after, writes_before, creates.requests)
        result.update(
            run_figures(
                topics,
                size=size,
                began=began,
                applied=applied,
                wall=wall,
                writes=writes,
                creates=creates,
                busy=busy_after - busy_before,
                own=own_after - own_before,
            )
        )
        result.update(
            {
                # VmHWM goes with a process that died: then the samples are all there is.
                "rss_mib_peak": round((peak or sampled) / MIB, 1),
                "rss_mib_sampled_peak": round(sampled / MIB, 1),
                "rss_mib_before": round(rss_before / MIB, 1),
                "peaks_reset": reset["rss"],
                "cpu_seconds": cpu_delta(cpu_before, cpu_after),
                "other_pods_on_node": others,
                "progress": monitor.progress,
            }
        )
        return result


# -- the comparison and the report ----------------------------------------------------------------


def versus(kopfka: Mapping[str, Any], peer: Mapping[str, Any]) -> dict[str, Any]:
    """kopfka's figures over the reference's at the same size (goal: at most 0.5 each). When the
    reference never had every topic Ready before the deadline, its time is more than it was
    measured for, so kopfka's time over that is an upper bound of the ratio; when it died, it
    would never have had them all, and kopfka's time (if it had them all) meets the goal."""
    seconds, peer_seconds = kopfka.get("seconds_to_all_ready"), peer.get("seconds_to_all_ready")
    rss, peer_rss = kopfka.get("operator_rss_mib_peak"), peer.get("rss_mib_peak")
    cpu, peer_cpu = kopfka.get("operator_cpu_seconds"), peer.get("cpu_seconds")
    found: dict[str, Any] = {
        "topics": kopfka["topics"],
        "time_ratio": _ratio(seconds, peer_seconds),
        "rss_ratio": _ratio(rss, peer_rss),
        "cpu_ratio": _ratio(cpu, peer_cpu),
    }
    meets_time = found["time_ratio"] is not None and found["time_ratio"] <= PEER_TIME_RATIO_GOAL
    if found["time_ratio"] is None and seconds is not None and peer.get("exited"):
        found["reference_died"] = meets_time = True
    elif found["time_ratio"] is None and seconds is not None and "measured_s" in peer:
        found["time_ratio_below"] = bound = _ratio(seconds, peer["measured_s"])
        meets_time = bound is not None and bound <= PEER_TIME_RATIO_GOAL
    found["meets_goal"] = {
        "time_ratio": meets_time,
        "rss_ratio": found["rss_ratio"] is not None and found["rss_ratio"] <= PEER_RSS_RATIO_GOAL,
    }
    return found


def _ratio(ours: float | None, theirs: float | None) -> float | None:
    return round(ours / theirs, 3) if ours is not None and theirs else None


def report_fields(
    runs: Sequence[Mapping[str, Any]], peers: Sequence[dict[str, Any]], args: argparse.Namespace
) -> dict[str, Any]:
    """The report's `peer` (the run at 10,000 topics, or the first), its ratios at the top level,
    `peer_runs` when there were several, and the notes that say how the reference ran."""
    if not peers:
        reason = unavailable(args) or (
            f"no size of --sizes {args.sizes} is among --peer-sizes {args.peer_sizes}"
        )
        return {"peer": {"skipped": reason}, "peer_notes": []}
    kopfka = {run["topics"]: run for run in runs}
    for peer in peers:
        peer["versus_kopfka"] = versus(kopfka[peer["topics"]], peer)
    main = next((peer for peer in peers if peer["topics"] == GOAL_TOPICS), peers[0])
    fields: dict[str, Any] = {
        "peer": main,
        "time_ratio": main["versus_kopfka"]["time_ratio"],
        "rss_ratio": main["versus_kopfka"]["rss_ratio"],
        "meets_peer_goal": main["versus_kopfka"]["meets_goal"],
        "peer_notes": notes(peers),
    }
    if len(peers) > 1:
        fields["peer_runs"] = list(peers)
    return fields


def notes(peers: Sequence[Mapping[str, Any]]) -> list[str]:
    limits = peers[0].get("its_pod_limits") or {}
    limit = limits.get("memory")
    found = [
        "peer: Strimzi's (Unidirectional) Topic Operator, built from source by "
        "../shared/peers/strimzi/build.sh and run by run-topic-operator.sh as a JVM on this host "
        "(kopfka runs in a pod on the node), right after kopfka's run of the same size: the "
        "same kube-apiserver, a fresh KafkaCluster of exactly the same spec (made by kopfka, "
        "which is then scaled to 0 replicas for the reference's run and restored after it), "
        "plain text to the brokers, whose advertised pod DNS names this host resolves through "
        "temporary /etc/hosts lines (pod IPs over the node's bridge).",
        f"peer: the JVM is given its pod's memory (Strimzi's topic operator Deployment limits "
        f"it to {limit}) as -XX:MaxRAM, with the operator image's own flags "
        f"(jvm_flags: its heap is a percentage of that); its pod's CPU limit "
        f"({limits.get('cpu')}) is not applied, so it may use more CPU here than in its pod "
        "(kopfka's chart sets no CPU limit). Its defaults otherwise "
        "(finalizers on: STRIMZI_USE_FINALIZERS; full reconciliation every 120 s; its KafkaTopics "
        "selected by the strimzi.io/cluster label as in its own deployments).",
        "peer: the same N topics as its own KafkaTopic kind (kafka.strimzi.io/v1, partitions 1, "
        "replicas 3), created the same way (as many requests at once as --apply-threads), and "
        "the same figures: seconds_to_all_ready (Ready=True for the current generation, from "
        "the first create), rss_mib_peak (the JVM's VmHWM, reset at the start), cpu_seconds "
        "(the JVM's, /proc/PID/stat), api_writes_per_topic (apiserver_request_total for "
        "kafkatopics.kafka.strimzi.io, its finalizer and status writes), verified in Kafka. "
        "time_ratio and rss_ratio are kopfka's figures over these at the same size (goal: "
        "at most 0.5 each).",
        "peer: cleanup, not measured: the JVM is stopped, then its KafkaTopics' finalizers "
        "removed by patch, the KafkaTopics, the CRD, the /etc/hosts lines and the cluster deleted.",
    ]
    for peer in peers:
        size = peer["topics"]
        if peer.get("exited"):
            exited = peer["exited"]
            why = "out of memory" if exited.get("out_of_memory") else "not out of memory"
            found.append(
                f"peer {size} topics: the topic operator died after {exited['after_s']} s "
                f"(exit code {exited['exit_code']}, {why}) with {peer.get('ready')} of {size} "
                "Ready: that is its result here."
            )
        if peer.get("error"):
            found.append(f"peer {size} topics: {peer['error'][:600]}")
        if limit and peer.get("rss_mib_peak", 0) * MIB > _bytes(limit):
            found.append(
                f"peer {size} topics: its peak RSS ({peer['rss_mib_peak']} MiB) is above its "
                f"pod's limit ({limit}): in its pod the kernel would have killed it."
            )
    return found


def _bytes(quantity: str) -> int:
    units = {"Mi": MIB, "Gi": 1024 * MIB}
    return int(quantity[:-2]) * units.get(quantity[-2:], 1)
