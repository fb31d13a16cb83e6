"""KafkaUsers on a real node, the whole loop: KafkaUser -> a password Secret -> the operator plans
from Kafka -> a user Job (a real pod of the operator image, the password mounted from the Secret)
changes Kafka -> the status says what Kafka holds. An application pod that takes its credentials
from the Secret, as application teams do, produces and consumes through the SCRAM listener; wrong
or missing credentials are refused, and so is the old password once the KafkaUser is gone.

The cluster authorizes (spec.authorization): the operator and its Jobs work through the
replication listener as the broker image's internal principal, the user may do what its ACLs
name and nothing else, and an unauthenticated client of the plaintext listener nothing at all.
A second KafkaUser logs in with the client certificate kopfka issued into its Secret, over a
mutual-TLS listener, with Kafka's own Java client and PEM files, and reads what the first wrote.
A third KafkaUser takes a password its team chose and keeps in a Secret of its own: it logs in
with it, and with the new one once the team changes it.

The tests run in file order on one small cluster (one combined node), and check Kafka itself with
Kafka's own tools, never only the statuses kopfka writes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from e2e.suite.kafka_client import KafkaClient
from tests.support.clusters import wait_condition, wait_ready
from tests.support.kube import TestKube
from tests.support.manifests import COMBINED_EPHEMERAL, kafka_cluster, kafka_user
from tests.support.waiting import wait_for

CLUSTER = "users"
USER = "orders-app"
TOPIC = "orders"
VERSION = "4.4.0"  # the broker image the e2e node has (broker-image/versions.env)
READY_TIMEOUT = 300.0
# The password Secret, a user Job's pod that starts, runs and is read back, then a sync reads Kafka.
USER_TIMEOUT = 180.0
PLAIN_PORT = 9092
SCRAM_PORT = 9094
MTLS_PORT = 9095
READER = "reports-app"
# The TLS user's client settings: its key and certificate, and the cluster CA, as PEM files
# written from its Secret (the pod gets them as env vars; a mounted Secret works the same way).
READER_PROPERTIES = "/tmp/reader.properties"
READER_SETTINGS = (
    "security.protocol=SSL\nssl.keystore.type=PEM\nssl.keystore.location=/tmp/user.pem\n"
    "ssl.truststore.type=PEM\nssl.truststore.location=/tmp/ca.crt\n"
)
NO_CERTIFICATE_PROPERTIES = "/tmp/no-certificate.properties"
NO_CERTIFICATE = (
    "security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=/tmp/ca.crt\n"
    "request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n"
)
# The application's client settings, its password from the Secret's sasl.jaas.config (an env var
# of the pod); short timeouts so that a refused login ends the tool within seconds.
APP_PROPERTIES = "/tmp/app.properties"
CLIENT_SETTINGS = (
    "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\n"
    "acks=all\nenable.idempotence=true\nretries=2147483647\n"
    "request.timeout.ms=10000\ndefault.api.timeout.ms=20000\n"
)
WRONG_PROPERTIES = "/tmp/wrong.properties"
WRONG_LOGIN = (
    "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
    f'username="{USER}" password="wrong";\n'
)
NO_SASL_PROPERTIES = "/tmp/no-sasl.properties"
NO_SASL = "request.timeout.ms=5000\ndefault.api.timeout.ms=10000\n"
TOPICS_TOOL = "org.apache.kafka.tools.TopicCommand"
# What the application may do: make, write and read its topic, read in console consumer groups.
ACLS = [
    {
        "resource": {"type": "topic", "name": TOPIC},
        "operations": ["Create", "Write", "Read", "Describe"],
    },
    {
        "resource": {"type": "group", "name": "console-consumer-", "patternType": "prefix"},
        "operations": ["Read"],
    },
]
OTHER_TOPIC = "payments"


@pytest.fixture(scope="module")
def cluster(kube: TestKube, operator: str, namespace: str) -> Iterator[str]:
    spec = {
        **COMBINED_EPHEMERAL,
        "kafka": {"version": VERSION},
        "controllers": {
            **COMBINED_EPHEMERAL["controllers"],
            "resources": {
                "requests": {"cpu": "100m", "memory": "768Mi"},
                "limits": {"memory": "768Mi"},
            },
        },
        "listeners": [
            {"name": "plain", "port": PLAIN_PORT},
            {"name": "scram", "port": SCRAM_PORT, "authentication": {"type": "scram-sha-512"}},
            {"name": "mtls", "port": MTLS_PORT, "tls": True, "authentication": {"type": "tls"}},
        ],
        "authorization": {"type": "simple"},
    }
    kube.apply(kafka_cluster(CLUSTER, namespace, spec))
    wait_ready(kube, CLUSTER, namespace, timeout=READY_TIMEOUT)
    yield CLUSTER
    kube.kubectl("delete", "kafkausers", "--all", "-n", namespace, "--wait=false")
    kube.kubectl("delete", "kafkacluster", CLUSTER, "-n", namespace, "--wait=false")


def _bootstrap(namespace: str, port: int) -> str:
    return f"{CLUSTER}-kafka-bootstrap.{namespace}.svc:{port}"


def _internal(namespace: str) -> str:
    """The replication listener of the one node: the operator's way in (a super user)."""
    return f"{CLUSTER}-nodes-0.{CLUSTER}-nodes.{namespace}.svc:9091"


@pytest.fixture(scope="module")
def app(kube: TestKube, cluster: str, namespace: str) -> Iterator[KafkaClient]:
    """The KafkaUser, Ready, and an application pod with its Secret's sasl.jaas.config in env."""
    spec = {
        "cluster": cluster,
        "authentication": {"type": "scram-sha-512"},
        "authorization": {"acls": ACLS},
    }
    kube.apply(kafka_user(USER, namespace, spec))
    wait_condition(
        kube, "KafkaUser", USER, namespace, type="Ready", status="True", timeout=USER_TIMEOUT
    )
    client = KafkaClient(kube, namespace, bootstrap=_bootstrap(namespace, SCRAM_PORT), pod=USER)
    jaas = {"secretKeyRef": {"name": USER, "key": "sasl.jaas.config"}}
    client.start(f"kopfka/kafka:{VERSION}", env=[{"name": "KAFKA_JAAS", "valueFrom": jaas}])
    write = 'printf "%s" "$1" > "$2"'
    client.exec("sh", "-c", write, "sh", f"{CLIENT_SETTINGS}{WRONG_LOGIN}", WRONG_PROPERTIES)
    client.exec("sh", "-c", write, "sh", NO_SASL, NO_SASL_PROPERTIES)
    # The application's own settings: its password only ever in the pod, from the Secret.
    with_password = 'printf "%ssasl.jaas.config=%s\\n" "$1" "$KAFKA_JAAS" > "$2"'
    client.exec("sh", "-c", with_password, "sh", CLIENT_SETTINGS, APP_PROPERTIES)
    yield client
    kube.kubectl("delete", "pod", USER, "-n", namespace, "--wait=false")


@pytest.fixture(scope="module")
def reader(kube: TestKube, cluster: str, namespace: str) -> Iterator[KafkaClient]:
    """A TLS KafkaUser allowed to read the topic, Ready, and a pod with its Secret's PEM files."""
    spec = {
        "cluster": cluster,
        "authentication": {"type": "tls"},
        "authorization": {
            "acls": [
                {"resource": {"type": "topic", "name": TOPIC}, "operations": ["Read", "Describe"]},
                {
                    "resource": {
                        "type": "group",
                        "name": "console-consumer-",
                        "patternType": "prefix",
                    },
                    "operations": ["Read"],
                },
            ]
        },
    }
    kube.apply(kafka_user(READER, namespace, spec))
    wait_condition(
        kube, "KafkaUser", READER, namespace, type="Ready", status="True", timeout=USER_TIMEOUT
    )
    client = KafkaClient(kube, namespace, bootstrap=_bootstrap(namespace, MTLS_PORT), pod=READER)
    env = [
        {"name": variable, "valueFrom": {"secretKeyRef": {"name": READER, "key": key}}}
        for variable, key in (("USER_PEM", "user.pem"), ("CA_CRT", "ca.crt"))
    ]
    client.start(f"kopfka/kafka:{VERSION}", env=env)
    files = 'printf "%s" "$USER_PEM" > /tmp/user.pem && printf "%s" "$CA_CRT" > /tmp/ca.crt'
    client.exec("sh", "-c", files)
    write = 'printf "%s" "$1" > "$2"'
    client.exec("sh", "-c", write, "sh", READER_SETTINGS, READER_PROPERTIES)
    client.exec("sh", "-c", write, "sh", NO_CERTIFICATE, NO_CERTIFICATE_PROPERTIES)
    yield client
    kube.kubectl("delete", "pod", READER, "-n", namespace, "--wait=false")


def _scram_credentials(kube: TestKube, namespace: str, client: KafkaClient) -> str:
    """What Kafka itself says of the user's SCRAM credentials (asked as the operator asks)."""
    internal = KafkaClient(kube, namespace, bootstrap=_internal(namespace), pod=client.pod)
    return internal.run_tool(
        "org.apache.kafka.tools.ConfigCommand",
        "--bootstrap-server",
        internal.bootstrap,
        "--entity-type",
        "users",
        "--entity-name",
        USER,
        "--describe",
    )


def _acls(kube: TestKube, namespace: str, client: KafkaClient) -> str:
    """What Kafka itself says of the user's ACLs (asked as the operator asks)."""
    internal = KafkaClient(kube, namespace, bootstrap=_internal(namespace), pod=client.pod)
    return internal.run_tool(
        "org.apache.kafka.tools.AclCommand",
        "--bootstrap-server", internal.bootstrap, "--list", "--principal", f"User:{USER}",
    )  # fmt: skip


def _list_topics(
    client: KafkaClient, properties: str, bootstrap: str | None = None
) -> tuple[int, str]:
    """TopicCommand --list (through the SCRAM listener) with `properties`: exit code, output."""
    done = client.run(
        "java", "-Xmx256m", "-cp", "/opt/kafka/libs/*", TOPICS_TOOL,
        "--bootstrap-server", bootstrap or client.bootstrap, "--command-config", properties,
        "--list",
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def test_a_kafka_user_gets_a_secret_it_owns_and_its_credential_in_kafka(
    kube: TestKube, namespace: str, app: KafkaClient
) -> None:
    user = kube.must_get("kopfka.dev/v1alpha1", "KafkaUser", USER, namespace)
    assert user["status"]["credentials"] == [
        {"mechanism": "SCRAM-SHA-512", "iterations": user["status"]["credentials"][0]["iterations"]}
    ]
    secret = kube.must_get("v1", "Secret", USER, namespace)
    owners = secret["metadata"]["ownerReferences"]
    assert [(o["kind"], o["uid"]) for o in owners] == [("KafkaUser", user["metadata"]["uid"])]
    password = base64.b64decode(secret["data"]["password"]).decode()
    assert len(password) >= 32
    # Kafka itself holds the credential, with the iterations the status reports.
    iterations = user["status"]["credentials"][0]["iterations"]
    assert f"SCRAM-SHA-512=iterations={iterations}" in _scram_credentials(kube, namespace, app)
    # The user Job that set it never carried the password in its spec.
    jobs = kube.kubectl(
        "get", "jobs", "-n", namespace, "-l", "app.kubernetes.io/component=user-job", "-o", "json"
    )
    assert json.loads(jobs)["items"], "no user Job left to look at"
    assert password not in jobs


def test_an_application_pod_with_the_users_secret_produces_and_consumes_over_scram(
    app: KafkaClient,
) -> None:
    app.run_tool(
        TOPICS_TOOL,
        "--bootstrap-server", app.bootstrap, "--command-config", APP_PROPERTIES,
        "--create", "--topic", TOPIC, "--partitions", "1", "--replication-factor", "1",
    )  # fmt: skip
    produced = app.exec(
        "java", "-Xmx256m", "-cp", "/opt/kafka/libs/*", "org.apache.kafka.tools.VerifiableProducer",
        "--bootstrap-server", app.bootstrap, "--topic", TOPIC, "--max-messages", "20",
        "--value-prefix", "7", "--acks", "-1", "--command-config", APP_PROPERTIES,
    )  # fmt: skip
    acked = [
        json.loads(line)["value"]
        for line in produced.splitlines()
        if line.startswith("{") and json.loads(line).get("name") == "producer_send_success"
    ]
    assert len(acked) == 20
    consumed = app.run_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server", app.bootstrap, "--command-config", APP_PROPERTIES,
        "--topic", TOPIC, "--from-beginning", "--max-messages", "20", "--timeout-ms", "30000",
    )  # fmt: skip
    assert sorted(consumed.split()) == sorted(acked)


def test_a_wrong_password_or_no_login_is_refused(app: KafkaClient) -> None:
    code, output = _list_topics(app, WRONG_PROPERTIES)
    assert code != 0
    assert "Authentication failed" in output
    assert "SCRAM-SHA-512" in output
    # A client that does not log in at all gets nothing from the SCRAM listener.
    code, output = _list_topics(app, NO_SASL_PROPERTIES)
    assert code != 0
    assert TOPIC not in output
    # The right password still works.
    code, output = _list_topics(app, APP_PROPERTIES)
    assert code == 0
    assert TOPIC in output.split()


def test_the_user_may_do_what_its_acls_name_and_nothing_else(
    kube: TestKube, namespace: str, app: KafkaClient
) -> None:
    user = kube.must_get("kopfka.dev/v1alpha1", "KafkaUser", USER, namespace)
    write = {"type": "topic", "name": TOPIC, "patternType": "literal"}
    assert {"resource": write, "operation": "Write", "type": "allow", "host": "*"} in (
        user["status"]["acls"]
    )
    assert len(user["status"]["acls"]) == 5
    # Kafka itself holds them, for the user's principal.
    held = _acls(kube, namespace, app)
    assert f"principal=User:{USER}, host=*, operation=WRITE, permissionType=ALLOW" in held
    assert "name=console-consumer-, patternType=PREFIXED" in held
    # A topic no ACL names: the user can neither make nor write it.
    done = app.run(
        "java", "-Xmx256m", "-cp", "/opt/kafka/libs/*", TOPICS_TOOL,
        "--bootstrap-server", app.bootstrap, "--command-config", APP_PROPERTIES,
        "--create", "--topic", OTHER_TOPIC, "--partitions", "1", "--replication-factor", "1",
    )  # fmt: skip
    assert done.returncode != 0
    assert "TopicAuthorizationException" in done.stdout + done.stderr
    # A client of the plaintext listener (User:ANONYMOUS) sees no topic at all.
    code, output = _list_topics(app, NO_SASL_PROPERTIES, _bootstrap(namespace, PLAIN_PORT))
    assert code == 0, output
    assert TOPIC not in output.split()


OWN_USER = "billing-app"
OWN_SECRET = "billing-password"


def _password_secret(namespace: str, password: str) -> dict[str, object]:
    """The application team's own Secret with the password it chose (spec...secretKeyRef)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": OWN_SECRET, "namespace": namespace},
        "stringData": {"password": password},
    }


def _logs_in(app: KafkaClient, password: str) -> bool:
    """TopicCommand --list through the SCRAM listener as OWN_USER with `password`."""
    login = (
        "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{OWN_USER}" password="{password}";\n'
    )
    properties = f"/tmp/{OWN_USER}.properties"
    app.exec("sh", "-c", 'printf "%s" "$1" > "$2"', "sh", CLIENT_SETTINGS + login, properties)
    code, _ = _list_topics(app, properties)
    return code == 0


def test_a_user_with_a_password_of_its_own_logs_in_with_it_and_a_changed_one_replaces_it(
    kube: TestKube, cluster: str, namespace: str, app: KafkaClient
) -> None:
    first, second = "first-Passw0rd-of-billing", "second-Passw0rd-of-billing"
    kube.apply(_password_secret(namespace, first))
    source = {"valueFrom": {"secretKeyRef": {"name": OWN_SECRET, "key": "password"}}}
    spec = {"cluster": cluster, "authentication": {"type": "scram-sha-512", "password": source}}
    kube.apply(kafka_user(OWN_USER, namespace, spec))
    wait_condition(
        kube, "KafkaUser", OWN_USER, namespace, type="Ready", status="True", timeout=USER_TIMEOUT
    )
    # Applications mount the KafkaUser's own Secret, which holds the chosen password.
    copy = kube.must_get("v1", "Secret", OWN_USER, namespace)
    assert base64.b64decode(copy["data"]["password"]).decode() == first
    assert _logs_in(app, first)
    assert not _logs_in(app, second)
    # The team changes its password: Kafka takes the new one at the next periodic sync.
    kube.apply(_password_secret(namespace, second))
    wait_for(
        lambda: _logs_in(app, second),
        timeout=USER_TIMEOUT,
        what=f"{OWN_USER} to log in with the changed password",
    )
    assert not _logs_in(app, first)
    kube.kubectl("delete", "kafkauser", OWN_USER, "-n", namespace)
    kube.kubectl("delete", "secret", OWN_SECRET, "-n", namespace)


def test_a_tls_user_reads_over_mutual_tls_with_its_certificate(
    kube: TestKube, namespace: str, reader: KafkaClient
) -> None:
    user = kube.must_get("kopfka.dev/v1alpha1", "KafkaUser", READER, namespace)
    assert user["status"]["certificate"]["subject"] == f"CN={READER}"
    assert "credentials" not in user["status"] or not user["status"]["credentials"]
    # Kafka's Java client with the Secret's PEM files: its certificate is User:reports-app,
    # whose ACLs let it read what the SCRAM user wrote (test order: after the produce test).
    consumed = reader.run_tool(
        "org.apache.kafka.tools.consumer.ConsoleConsumer",
        "--bootstrap-server", reader.bootstrap, "--command-config", READER_PROPERTIES,
        "--topic", TOPIC, "--from-beginning", "--max-messages", "20", "--timeout-ms", "30000",
    )  # fmt: skip
    assert len(consumed.split()) == 20
    # It may read, not write.
    done = reader.run(
        "java", "-Xmx256m", "-cp", "/opt/kafka/libs/*",
        "org.apache.kafka.tools.VerifiableProducer",
        "--bootstrap-server", reader.bootstrap, "--topic", TOPIC, "--max-messages", "1",
        "--acks", "-1", "--command-config", READER_PROPERTIES,
    )  # fmt: skip
    assert '"name":"producer_send_success"' not in done.stdout
    assert "TopicAuthorizationException" in done.stdout + done.stderr
    # Without a client certificate the mutual-TLS listener lets nobody in.
    code, output = _list_topics(reader, NO_CERTIFICATE_PROPERTIES)
    assert code != 0
    assert TOPIC not in output.split()


def test_deleting_the_kafka_user_removes_its_credential_acls_and_secret(
    kube: TestKube, namespace: str, app: KafkaClient
) -> None:
    kube.kubectl("delete", "kafkauser", USER, "-n", namespace, "--wait=false")
    wait_for(
        lambda: kube.get("kopfka.dev/v1alpha1", "KafkaUser", USER, namespace) is None,
        timeout=USER_TIMEOUT,
        what=f"KafkaUser {USER} to be gone (its finalizer released after Kafka forgot it)",
    )
    assert "SCRAM-SHA-512" not in _scram_credentials(kube, namespace, app)
    assert "operation=" not in _acls(kube, namespace, app)  # the tool still names the principal
    wait_for(
        lambda: kube.get("v1", "Secret", USER, namespace) is None,
        timeout=60,
        what=f"Secret {USER} to be collected with its KafkaUser",
    )
    # The application, still holding the old password, is refused from now on.
    code, output = _list_topics(app, APP_PROPERTIES)
    assert code != 0
    assert "Authentication failed" in output
