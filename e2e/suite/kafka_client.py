"""A Kafka client the way an application team runs one: a plain pod beside the cluster.

The e2e tests produce and consume through the cluster's bootstrap Service from inside the pod
network, with Kafka's own tools from the broker image (VerifiableProducer reports every
acknowledgement, so the tests can prove that nothing acknowledged is lost). Running them in a pod
also proves the address in `status.bootstrapServers` works where clients live.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.support.kube import Obj, TestKube, condition_true
from tests.support.waiting import wait_for

POD = "kafka-client"
HEAP = "-Xmx256m"
# Retries and idempotence on, as producers that use acks=all run in production: a send survives a
# leader moving away from a broker that stops. (VerifiableProducer alone sets retries=0.)
PRODUCER_CONFIG = "/tmp/producer.properties"
PRODUCER_PROPERTIES = "acks=all\nenable.idempotence=true\nretries=2147483647\n"
TOOL_TIMEOUT = 300.0
POD_TIMEOUT = 120.0


def pod_manifest(image: str, *, cpu: str = "50m", name: str = POD, env: Sequence[Obj] = ()) -> Obj:
    """A client pod: the broker image (it has Kafka's tools and getent), sleeping until used.
    `cpu`: its CPU request, which is also its weight against other pods when the node is busy;
    `env`: its container's environment (e.g. a KafkaUser's credentials from its Secret)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": POD}},
        "spec": {
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "securityContext": {
                "runAsNonRoot": True,
                "runAsUser": 1001,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [
                {
                    "name": "client",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", "infinity"],
                    "env": list(env),
                    "resources": {"requests": {"cpu": cpu, "memory": "512Mi"}},
                    "securityContext": {
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


@dataclass
class Produced:
    """What a VerifiableProducer run reported: the values Kafka acknowledged, and when."""

    sent: int
    acked: dict[str, int] = field(default_factory=dict)  # value -> ack time (ms since epoch)
    failed: list[str] = field(default_factory=list)  # Kafka's message for each failed send

    @classmethod
    def parse(cls, output: str) -> Produced:
        produced = cls(sent=0)
        for line in output.splitlines():
            if not line.startswith("{"):
                continue
            event: dict[str, Any] = json.loads(line)
            if event["name"] == "producer_send_success":
                produced.acked[str(event["value"])] = int(event["timestamp"])
            elif event["name"] == "producer_send_error":
                produced.failed.append(f"{event.get('exception')}: {event.get('message')}")
            elif event["name"] == "tool_data":
                produced.sent = int(event["sent"])
        return produced


class RunningProducer:
    """A producer running in the background inside the client pod, its report in a file there.

    It is not tied to a `kubectl exec` stream, which the API server may cut during a long run:
    the test polls the pod for the report's last line instead.
    """

    def __init__(self, client: KafkaClient, output: str) -> None:
        self._client = client
        self._output = output

    def _report(self) -> str | None:
        report = self._client.exec("cat", self._output)
        return report if '"name":"tool_data"' in report else None

    def stop(self) -> Produced:
        """Stop it early (SIGTERM: VerifiableProducer closes its producer, which waits for the
        sends under way, and prints its report), and read what it reported."""
        self._client.exec("sh", "-c", f"kill -TERM $(cat {self._output}.pid)")
        return self.wait()

    def wait(self, *, timeout: float = TOOL_TIMEOUT) -> Produced:
        report = wait_for(
            self._report,
            timeout=timeout,
            what=f"the producer in the client pod to finish ({self._output})",
            describe=lambda: self._client.exec("tail", "-n", "3", self._output),
            interval=1.0,
        )
        return Produced.parse(report)


@dataclass
class KafkaClient:
    """Kafka's tools in the client pod of `namespace`, against `bootstrap` (host:port)."""

    kube: TestKube
    namespace: str
    bootstrap: str
    pod: str = POD

    def start(self, image: str, *, cpu: str = "50m", env: Sequence[Obj] = ()) -> None:
        manifest = pod_manifest(image, cpu=cpu, name=self.pod, env=env)
        self.kube.kubectl("apply", "-n", self.namespace, "-f", "-", stdin=json.dumps(manifest))
        wait_for(
            self._pod_ready,
            timeout=POD_TIMEOUT,
            what=f"the client pod {self.namespace}/{self.pod} to be Ready",
        )
        self.exec("sh", "-c", f"printf '{PRODUCER_PROPERTIES}' > {PRODUCER_CONFIG}")

    def _pod_ready(self) -> bool:
        return condition_true(self.kube.get("v1", "Pod", self.pod, self.namespace), "Ready")

    def _exec_argv(self, *command: str) -> list[str]:
        return [
            str(self.kube.kubectl_path),
            "--kubeconfig",
            str(self.kube.kubeconfig),
            "exec",
            "-n",
            self.namespace,
            self.pod,
            "--",
            *command,
        ]

    def run(self, *command: str, timeout: float = TOOL_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """`command` in the client pod, whatever its exit code."""
        return subprocess.run(
            self._exec_argv(*command), capture_output=True, text=True, timeout=timeout, check=False
        )

    def exec(self, *command: str, timeout: float = TOOL_TIMEOUT) -> str:
        result = self.run(*command, timeout=timeout)
        if result.returncode != 0:
            what = " ".join(command[:4])
            raise AssertionError(
                f"{what} … in the client pod failed: {result.stderr.strip()[-2000:]}"
            )
        return result.stdout

    def _tool(self, main_class: str, *args: str) -> list[str]:
        # Without a log4j2 configuration the tools log errors only, so stdout is their output.
        return ["java", HEAP, "-cp", "/opt/kafka/libs/*", main_class, *args]

    def run_tool(self, main_class: str, *args: str) -> str:
        """Kafka's tool `main_class` with `args`; its output."""
        return self.exec(*self._tool(main_class, *args))

    def resolve(self, host: str) -> str:
        """The address a pod gets for `host` (through the cluster's DNS)."""
        return self.exec("getent", "hosts", host).split()[0]

    def create_topic(self, topic: str, *, partitions: int, replicas: int, min_isr: int) -> None:
        self.exec(
            *self._tool(
                "org.apache.kafka.tools.TopicCommand",
                "--bootstrap-server",
                self.bootstrap,
                "--create",
                "--if-not-exists",
                "--topic",
                topic,
                "--partitions",
                str(partitions),
                "--replication-factor",
                str(replicas),
                "--config",
                f"min.insync.replicas={min_isr}",
            )
        )

    def delete_topic(self, topic: str) -> None:
        self.run_tool(
            "org.apache.kafka.tools.TopicCommand", "--bootstrap-server", self.bootstrap,
            "--delete", "--topic", topic,
        )  # fmt: skip

    def describe(self, topic: str, *, under_replicated: bool = False) -> list[str]:
        """TopicCommand --describe: one line per partition (only those short of replicas when
        `under_replicated`)."""
        args = ["--bootstrap-server", self.bootstrap, "--describe", "--topic", topic]
        if under_replicated:
            args.append("--under-replicated-partitions")
        output = self.exec(*self._tool("org.apache.kafka.tools.TopicCommand", *args))
        return [line.strip() for line in output.splitlines() if "Partition:" in line]

    def topics(self) -> set[str]:
        """The topics Kafka lists (TopicCommand --list)."""
        output = self.exec(
            *self._tool(
                "org.apache.kafka.tools.TopicCommand",
                "--bootstrap-server",
                self.bootstrap,
                "--list",
            )
        )
        return {line.strip() for line in output.splitlines() if line.strip()}

    def topic_id(self, topic: str) -> str:
        """The topic id TopicCommand --describe reports."""
        output = self.exec(
            *self._tool(
                "org.apache.kafka.tools.TopicCommand",
                "--bootstrap-server",
                self.bootstrap,
                "--describe",
                "--topic",
                topic,
            )
        )
        found = re.search(r"TopicId:\s*(\S+)", output)
        if found is None:
            raise AssertionError(f"no topic id for {topic} in: {output}")
        return found.group(1)

    def topic_configs(self, topic: str) -> dict[str, str]:
        """The topic's own settings (its dynamic topic configs), as kafka-configs shows them."""
        return _described(self.exec(*self._configs("topics", "--entity-name", topic, "--describe")))

    def finalized(self, feature: str) -> str:
        """The finalized version of a Kafka feature (e.g. metadata.version), as kafka-features
        describes it."""
        output = self.exec(
            *self._tool(
                "org.apache.kafka.tools.FeatureCommand", "--bootstrap-server", self.bootstrap,
                "describe",
            )
        )  # fmt: skip
        # "Feature: metadata.version<TAB>...<TAB>FinalizedVersionLevel: 4.4-IV2<TAB>Epoch: 5"
        found = re.search(
            rf"Feature: {re.escape(feature)}\s.*?FinalizedVersionLevel: (\S+)", output
        )
        if found is None:
            raise AssertionError(f"kafka-features describe shows no {feature}: {output!r}")
        return found.group(1)

    def broker_defaults(self) -> dict[str, str]:
        """Kafka's cluster-wide dynamic broker defaults, as kafka-configs shows them."""
        return _described(self.exec(*self._configs("brokers", "--entity-default", "--describe")))

    def broker_setting(self, broker: int, key: str) -> str | None:
        """The value broker `broker` runs with for `key`, wherever it comes from."""
        args = ["--entity-name", str(broker), "--all", "--describe"]
        return _described(self.exec(*self._configs("brokers", *args))).get(key)

    def alter_topic_configs(self, topic: str, *, add: str = "", delete: str = "") -> None:
        """kafka-configs --alter on a topic: `add` "k=v,k=v", `delete` "k,k"."""
        args = ["--entity-name", topic, "--alter"]
        if add:
            args += ["--add-config", add]
        if delete:
            args += ["--delete-config", delete]
        self.exec(*self._configs("topics", *args))

    def _configs(self, entity_type: str, *args: str) -> list[str]:
        return self._tool(
            "org.apache.kafka.tools.ConfigCommand",
            "--bootstrap-server",
            self.bootstrap,
            "--entity-type",
            entity_type,
            *args,
        )

    def start_producing(
        self, topic: str, *, count: int, value_prefix: int, throughput: int = -1
    ) -> RunningProducer:
        """Start sending `count` values "<value_prefix>.<n>" with acks=all, at most `throughput`
        per second (-1: as fast as it goes), in the background of the client pod."""
        output = f"/tmp/produce-{topic}-{value_prefix}.out"
        tool = self._tool(
            "org.apache.kafka.tools.VerifiableProducer",
            "--bootstrap-server",
            self.bootstrap,
            "--topic",
            topic,
            "--max-messages",
            str(count),
            "--throughput",
            str(throughput),
            "--value-prefix",
            str(value_prefix),
            "--acks",
            "-1",
            "--command-config",
            PRODUCER_CONFIG,
        )
        command = " ".join(shlex.quote(arg) for arg in tool)
        self.exec(
            "sh",
            "-c",
            f"nohup {command} >{output} 2>{output}.err </dev/null & echo $! >{output}.pid",
        )
        return RunningProducer(self, output)

    def produce(self, topic: str, *, count: int, value_prefix: int) -> Produced:
        return self.start_producing(topic, count=count, value_prefix=value_prefix).wait()

    def consume_all(self, topic: str, *, expected: int) -> list[str]:
        """Every value in `topic` from the beginning; stops after `expected` values or 30 s
        without a new one."""
        output = self.exec(
            *self._tool(
                "org.apache.kafka.tools.consumer.ConsoleConsumer",
                "--bootstrap-server",
                self.bootstrap,
                "--topic",
                topic,
                "--from-beginning",
                "--max-messages",
                str(expected),
                "--timeout-ms",
                "30000",
            )
        )
        return output.splitlines()


def _described(output: str) -> dict[str, str]:
    """key -> value of kafka-configs --describe output."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        # "  retention.ms=3600000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:...}"
        if line.startswith("  ") and "=" in line:
            key, _, rest = line.strip().partition("=")
            found[key] = rest.split(" sensitive=")[0]
    return found
