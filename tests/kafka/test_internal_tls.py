"""Mutual TLS on the internal listeners (spec.internalListeners.tls) on real nodes started by the
broker image's entrypoint, with the certificates kopfka issues (certs/keep.py) and the config it
renders, authorization on: a controller and two brokers form the cluster and replicate only over
TLS with their own certificates; the operator's certificate is the internal super user, for the
operator's own reads and for its Jobs (kopfka's command with --tls-dir, Kafka's tools with the
rendered client config, from the Secret mounted where the Jobs mount it); a client without that
certificate, with one of another CA or in plaintext gets nothing on the internal listeners."""

from __future__ import annotations

import datetime
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kopfka.certs.issue import new_authority, server_bundle
from kopfka.certs.keep import keep_certificates
from kopfka.certs.kept import Certificates
from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.kafka.tls import context_from_pem
from kopfka.model import names, schema
from kopfka.model.cluster import parse_cluster
from kopfka.model.live_settings import LivePlan
from kopfka.model.topic import parse_topic
from kopfka.reconcile import new_cluster_id
from kopfka.render import tls
from kopfka.render.settings_job import IMAGE_LIBS, render_settings_job
from kopfka.topics.plan import TopicResource, plan_topics
from kopfka.topics.wire import read_batch_log, work_file
from tests.kafka.clients import connects, consume_all, create_topic, produce
from tests.kafka.conftest import KAFKA_VERSION, SMALL_POOL
from tests.kafka.localkafka import LocalKafka, broker_secret, local_kafka, wait_for
from tests.kafka.test_live_settings import kafka_libs

KOPFKA = Path(sys.executable).with_name("kopfka")
SPEC = parse_cluster(
    "sealed",
    "kafka",
    {
        "controllers": {"replicas": 1, **SMALL_POOL},
        "brokers": {"replicas": 2, **SMALL_POOL},
        "listeners": [{"name": "plain", "port": 9092}],
        "internalListeners": {"tls": True},
        "authorization": {"type": "simple"},
    },
)
NOW = datetime.datetime.now(datetime.UTC)
INTERNAL = SPEC.operator_bootstrap
CONTROLLER = names.pod_host("sealed", "kafka", SPEC.controller_pool.role, 0)


@pytest.fixture(scope="module")
def certificates() -> Certificates:
    return keep_certificates(SPEC, ca_data=None, broker_files={}, revision=None, now=NOW)


@pytest.fixture(scope="module")
def operator_dir(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates) -> Path:
    """The operator's Secret as the kubelet mounts it in a Job (render/tls.py renders it)."""
    [secret] = [
        obj
        for obj in tls.secrets(SPEC, certificates)
        if obj["metadata"]["name"] == names.operator_tls_secret_name("sealed")
    ]
    directory = tmp_path_factory.mktemp("operator-tls")
    for file_name, content in tls.decoded(secret).items():
        (directory / file_name).write_bytes(content)
    return directory


@pytest.fixture(scope="module")
def sealed(
    tmp_path_factory: pytest.TempPathFactory, certificates: Certificates
) -> Iterator[LocalKafka]:
    base = tmp_path_factory.mktemp("sealed")
    tls_dir = broker_secret(base, certificates.brokers)
    with local_kafka(SPEC, new_cluster_id(), base, KAFKA_VERSION, tls_dir=tls_dir) as cluster:
        yield cluster


def operator_security(certificates: Certificates) -> dict[str, Any]:
    """kafka-python's settings with the operator's certificate, as kafka/tls.py builds them."""
    assert certificates.operator is not None
    context = context_from_pem(
        certificates.operator[names.OPERATOR_KEY_STORE], certificates.operator[names.OPERATOR_TRUST]
    )
    return {"security_protocol": "SSL", "ssl_context": context}


def test_the_nodes_form_the_cluster_and_replicate_over_mutual_tls(
    sealed: LocalKafka, certificates: Certificates
) -> None:
    security = operator_security(certificates)
    assert certificates.operator is not None
    admin = KafkaPythonAdmin(INTERNAL, ssl_context=security["ssl_context"])
    try:
        # The brokers registered with the controller over its TLS listener.
        assert sorted(broker.node_id for broker in admin.cluster().brokers) == [
            node.node_id for node in sealed.brokers
        ]
        assert [member.node_id for member in admin.quorum().voters] == [
            sealed.controllers[0].node_id
        ]
    finally:
        admin.close()
    # min.insync.replicas 2 with acks=all: every message is acknowledged only once the other
    # broker fetched it over the TLS replication listener.
    create_topic(INTERNAL, "sealed", partitions=4, replicas=2, min_isr=2, security=security)
    sent = [f"sealed-{index}".encode() for index in range(200)]
    assert produce(INTERNAL, "sealed", sent, security=security) == len(sent)
    assert sorted(consume_all(INTERNAL, "sealed", len(sent), security=security)) == sorted(sent)
    for node in sealed.nodes:
        log = node.log.read_text(errors="replace")
        assert "SslAuthenticationException" not in log, f"{node.pod}: a refused handshake"


def test_the_internal_listeners_refuse_plaintext_and_certificates_of_other_cas(
    sealed: LocalKafka, certificates: Certificates, tmp_path: Path
) -> None:
    assert connects(INTERNAL, **operator_security(certificates))
    assert not connects(INTERNAL)  # plaintext
    ca = tmp_path / "ca.crt"
    ca.write_bytes(certificates.ca_certificate)
    assert not connects(INTERNAL, security_protocol="SSL", ssl_cafile=str(ca))  # no certificate
    stranger = new_authority("stranger", now=NOW, validity_days=30)
    # A certificate of another CA for the very name of a broker.
    forged = tmp_path / "forged.pem"
    forged.write_bytes(
        server_bundle(stranger, "sealed-brokers-0", ["x"], now=NOW, validity_days=30)
    )
    assert not connects(
        INTERNAL,
        security_protocol="SSL",
        ssl_cafile=str(ca),
        ssl_certfile=str(forged),
        ssl_keyfile=str(forged),
    )
    # The controller's listener too.
    assert not connects(f"{CONTROLLER}:{schema.CONTROLLER_PORT}")


def test_the_topic_jobs_command_connects_with_the_mounted_operator_secret(
    sealed: LocalKafka, certificates: Certificates, operator_dir: Path, tmp_path: Path
) -> None:
    resource = TopicResource(
        "kafka",
        "sealed-jobs",
        uid="uid-sealed-jobs",
        created="2026-01-01T00:00:00Z",
        generation=1,
        spec=parse_topic("sealed-jobs", {"cluster": "sealed", "partitions": 3}),
    )
    plan = plan_topics([resource], actual={}, configs={}, cluster=SPEC)
    work = tmp_path / "work.json.gz"
    work.write_bytes(work_file(plan))
    command = [str(KOPFKA), "topics-apply", "--bootstrap-servers", INTERNAL]
    command += ["--work", str(work), "--tls-dir", str(operator_dir)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert read_batch_log(done.stdout).complete
    admin = KafkaPythonAdmin(INTERNAL, ssl_context=operator_security(certificates)["ssl_context"])
    try:
        assert len(admin.topics(["sealed-jobs"])["sealed-jobs"].partitions) == 3
    finally:
        admin.close()
    # Without --tls-dir the same command cannot reach Kafka.
    plain = subprocess.run(
        [*command[:-2], "--timeout", "5"], capture_output=True, text=True, timeout=60, check=False
    )
    assert plain.returncode != 0
    assert "cannot be reached" in plain.stderr


def test_kafkas_tools_connect_with_the_rendered_client_config(
    sealed: LocalKafka, certificates: Certificates, operator_dir: Path
) -> None:
    """The settings Job's command as rendered, its --command-config naming the operator Secret
    where the Job mounts it: run in a mount namespace that puts the Secret's files there."""
    job = render_settings_job(
        SPEC, replace(LivePlan(), to_set={"log.cleaner.threads": "2"}), bootstrap=INTERNAL
    )
    [container] = job["spec"]["template"]["spec"]["containers"]
    libs = kafka_libs(KAFKA_VERSION)
    command = [f"{libs}/*" if part == f"{IMAGE_LIBS}/*" else part for part in container["command"]]
    assert f"{tls.OPERATOR_TLS_MOUNT}/{names.OPERATOR_CLIENT_CONFIG}" in command
    Path(tls.OPERATOR_TLS_MOUNT).mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "--",
            "/bin/sh",
            "-c",
            'mount --bind "$0" "$1" && shift && exec "$@"',
            str(operator_dir),
            tls.OPERATOR_TLS_MOUNT,
            *command,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    admin = KafkaPythonAdmin(INTERNAL, ssl_context=operator_security(certificates)["ssl_context"])
    try:
        wait_for(
            "log.cleaner.threads=2 as the cluster default",
            lambda: admin.cluster_defaults().get("log.cleaner.threads"),
        )
        assert admin.cluster_defaults()["log.cleaner.threads"].value == "2"
    finally:
        admin.close()
