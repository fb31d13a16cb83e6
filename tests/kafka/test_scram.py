"""SCRAM-SHA-512 on a client listener, with the configuration kopfka renders, on a real broker
started by the broker image's entrypoint, and KafkaUsers' credentials and quotas set by the user
Job's command (`kopfka users-apply`) from the planner's work: the user logs in with its password
and produces and consumes, a wrong password and an unauthenticated client get nothing, quotas
are what Kafka reports, and deleting the user removes its credential and quotas. A user with a
password of its own logs in with it (Kafka's Java client too, with the `sasl.jaas.config` kopfka
writes for it), and a changed one is set again: the old one is refused, the new one works."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import kafka.errors
import pytest

from kopfka.kafka.admin import _bootstrapped_client
from kopfka.kafka.facts import ScramCredential
from kopfka.model.cluster import parse_cluster
from kopfka.model.user import parse_user
from kopfka.reconcile import new_cluster_id
from kopfka.render.properties import escape_value
from kopfka.render.user_job import JAAS_KEY, render_user_secret
from kopfka.users.plan import DELETED, IN_SYNC, UserResource, UserWork, plan_users
from tests.kafka.clients import connects, consume_all, create_topic, produce
from tests.kafka.conftest import KAFKA_VERSION, SMALL_POOL
from tests.kafka.localkafka import LocalKafka, kafka_libs, local_kafka
from tests.kafka.referee import java
from tests.kafka.users import PASSWORD, kafka_users, scram, users_apply

PLAIN_PORT, SCRAM_PORT = 9092, 9095
SPEC = parse_cluster(
    "guarded",
    "kafka",
    {
        "mode": "combined",
        "controllers": {"replicas": 1, **SMALL_POOL},
        "listeners": [
            {"name": "plain", "port": PLAIN_PORT},
            {"name": "scram", "port": SCRAM_PORT, "authentication": {"type": "scram-sha-512"}},
        ],
    },
)
QUOTAS = {"producerByteRate": 1048576, "consumerByteRate": 2097152, "requestPercentage": 50}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    base = tmp_path_factory.mktemp("guarded")
    with local_kafka(SPEC, new_cluster_id(), base, KAFKA_VERSION) as cluster:
        yield cluster


def resource(name: str, *, deleting: bool = False, applied: str | None = None) -> UserResource:
    spec = parse_user(
        name,
        {"cluster": "guarded", "authentication": {"type": "scram-sha-512"}, "quotas": QUOTAS},
    )
    return UserResource(
        f"kafka/{name}",
        name,
        1,
        spec=spec,
        secret_revision="uid-1",
        applied_revision=applied,
        deleting=deleting,
    )


def can_log_in(cluster: LocalKafka, user: str, password: str) -> bool:
    return connects(cluster.bootstrap(SCRAM_PORT), **scram(user, password))


def test_a_user_made_by_the_job_logs_in_and_its_quotas_are_held(
    guarded: LocalKafka, tmp_path: Path
) -> None:
    bootstrap = SPEC.operator_bootstrap.replace(
        "guarded-kafka-bootstrap.kafka.svc", guarded.brokers[0].host
    )
    assert bootstrap == guarded.bootstrap(PLAIN_PORT)
    before = kafka_users(bootstrap, "alice")
    plan = plan_users([resource("alice")], before)
    assert plan.work.credentials == {"alice": "uid-1"}
    ran = users_apply(bootstrap, plan.work, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert PASSWORD not in ran.stdout + ran.stderr
    assert '"user":"alice","action":"credential","ok":true' in ran.stdout

    held = kafka_users(bootstrap, "alice")["alice"]
    assert held.credentials == (ScramCredential("SCRAM-SHA-512", 4096),)
    assert held.quotas == {
        "producer_byte_rate": 1048576.0,
        "consumer_byte_rate": 2097152.0,
        "request_percentage": 50.0,
    }
    # Once the Job's credential is recorded, the plan has nothing left to do.
    again = plan_users([resource("alice", applied="uid-1")], {"alice": held})
    assert not again.work.has_work
    assert again.verdicts["kafka/alice"].reason == IN_SYNC

    security = scram("alice", PASSWORD)
    create_topic(
        guarded.bootstrap(SCRAM_PORT), "guarded", partitions=1, replicas=1, security=security
    )
    sent = [f"m-{index}".encode() for index in range(50)]
    assert produce(guarded.bootstrap(SCRAM_PORT), "guarded", sent, security=security) == 50
    consumed = consume_all(guarded.bootstrap(SCRAM_PORT), "guarded", 50, security=security)
    assert sorted(consumed) == sorted(sent)


def test_a_wrong_password_or_no_login_gets_nothing(guarded: LocalKafka, tmp_path: Path) -> None:
    bootstrap = guarded.bootstrap(PLAIN_PORT)
    ran = users_apply(bootstrap, plan_users([resource("bob")], {}).work, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert can_log_in(guarded, "bob", PASSWORD)
    assert not can_log_in(guarded, "bob", PASSWORD + "x")
    assert not can_log_in(guarded, "nobody", PASSWORD)
    # A client that does not log in at all gets no broker from the SCRAM port.
    with pytest.raises(kafka.errors.KafkaError):
        _bootstrapped_client(
            bootstrap_servers=guarded.bootstrap(SCRAM_PORT),
            request_timeout_ms=5000,
            bootstrap_timeout_ms=5000,
        ).close()


def test_deleting_the_user_removes_its_credential_and_quotas(
    guarded: LocalKafka, tmp_path: Path
) -> None:
    bootstrap = guarded.bootstrap(PLAIN_PORT)
    made = users_apply(bootstrap, plan_users([resource("carol")], {}).work, tmp_path / "made")
    assert made.returncode == 0, made.stderr
    assert can_log_in(guarded, "carol", PASSWORD)

    held = kafka_users(bootstrap, "carol")
    plan = plan_users([resource("carol", deleting=True)], held)
    assert plan.work.deletions == ("carol",)
    assert set(plan.work.quotas["carol"].values()) == {None}
    gone = users_apply(bootstrap, plan.work, tmp_path / "gone")
    assert gone.returncode == 0, gone.stderr

    assert kafka_users(bootstrap, "carol") == {}
    assert not can_log_in(guarded, "carol", PASSWORD)
    released = plan_users([resource("carol", deleting=True)], {})
    assert released.verdicts["kafka/carol"].reason == DELETED
    assert released.verdicts["kafka/carol"].released
    # Deleting a credential Kafka does not hold is no error: a Job that runs twice succeeds.
    twice = users_apply(bootstrap, UserWork(deletions=("carol",)), tmp_path / "twice")
    assert twice.returncode == 0, twice.stdout + twice.stderr


def java_client_lists(cluster: LocalKafka, topic: str, jaas_config: str, tmp: Path) -> bool:
    """Whether Kafka's own Java client (TopicCommand --list) logs in over SCRAM with this
    `sasl.jaas.config`, as an application given the Secret's key would, and lists `topic`: the
    JDK, not kopfka, parses the quoting."""
    config = tmp / "client.properties"
    config.write_text(
        "security.protocol=SASL_PLAINTEXT\n"
        "sasl.mechanism=SCRAM-SHA-512\n"
        f"sasl.jaas.config={escape_value(jaas_config)}\n",
        encoding="iso-8859-1",
    )
    libs = kafka_libs(KAFKA_VERSION)
    command = [java(), "-cp", f"{libs}/*", "org.apache.kafka.tools.TopicCommand"]
    command += ["--bootstrap-server", cluster.bootstrap(SCRAM_PORT)]
    command += ["--command-config", str(config), "--list"]
    listed = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    return listed.returncode == 0 and topic in listed.stdout.split()


def test_a_user_logs_in_with_its_own_password_and_a_changed_one_is_set_again(
    guarded: LocalKafka, tmp_path: Path
) -> None:
    bootstrap = guarded.bootstrap(PLAIN_PORT)
    own = 'my "own" pässword\\1; with = and spaces'
    changed = "the next one, chosen too"
    ref = {"valueFrom": {"secretKeyRef": {"name": "dora-password", "key": "password"}}}
    spec = parse_user(
        "dora",
        {"cluster": "guarded", "authentication": {"type": "scram-sha-512", "password": ref}},
    )

    def resource(revision: str, applied: str | None) -> UserResource:
        return UserResource(
            "kafka/dora", "dora", 1, spec=spec, secret_revision=revision, applied_revision=applied
        )

    first = plan_users([resource("uid-1/10", None)], kafka_users(bootstrap, "dora"))
    assert first.work.credentials == {"dora": "uid-1/10"}
    ran = users_apply(bootstrap, first.work, tmp_path / "first", passwords={"dora": own})
    assert ran.returncode == 0, ran.stderr
    assert "pässword" not in ran.stdout + ran.stderr
    assert can_log_in(guarded, "dora", own)
    assert not can_log_in(guarded, "dora", changed)
    # The Secret kopfka writes for the user: its sasl.jaas.config works in Kafka's Java client.
    create_topic(
        guarded.bootstrap(SCRAM_PORT),
        "dora-orders",
        partitions=1,
        replicas=1,
        security=scram("dora", own),
    )
    secret = render_user_secret("kafka", "dora", "guarded", own, source="dora-password/password")
    jaas = base64.b64decode(secret["data"][JAAS_KEY]).decode()
    assert java_client_lists(guarded, "dora-orders", jaas, tmp_path)

    # The user's Secret now holds another password: kopfka wrote it into the KafkaUser's Secret,
    # whose resourceVersion changed; the credential is set again from it.
    held = kafka_users(bootstrap, "dora")
    assert not plan_users([resource("uid-1/10", "uid-1/10")], held).work.has_work
    second = plan_users([resource("uid-1/11", "uid-1/10")], held)
    assert second.work.credentials == {"dora": "uid-1/11"}
    ran = users_apply(bootstrap, second.work, tmp_path / "second", passwords={"dora": changed})
    assert ran.returncode == 0, ran.stderr
    assert can_log_in(guarded, "dora", changed)
    assert not can_log_in(guarded, "dora", own)
    assert not java_client_lists(guarded, "dora-orders", jaas, tmp_path)
    rewritten = render_user_secret(
        "kafka", "dora", "guarded", changed, source="dora-password/password"
    )
    assert java_client_lists(
        guarded, "dora-orders", base64.b64decode(rewritten["data"][JAAS_KEY]).decode(), tmp_path
    )
