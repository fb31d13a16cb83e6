"""TLS on a client listener, with certificates kopfka issues (certs/keep.py) and the
configuration it renders, on a real broker started by the broker image's entrypoint: a client
that trusts the cluster CA produces and consumes; one that does not trust it fails the handshake;
a plaintext client gets nothing from the TLS port; the operator reaches Kafka over the plaintext
replication listener, as it does when every client listener has TLS."""

from __future__ import annotations

import datetime
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kafka.errors
import pytest

from kopfka.certs.keep import keep_certificates
from kopfka.certs.kept import Certificates
from kopfka.kafka.admin import KafkaPythonAdmin, KafkaUnavailable, _bootstrapped_client
from kopfka.model import names
from kopfka.model.cluster import parse_cluster
from kopfka.reconcile import new_cluster_id
from tests.kafka.clients import consume_all, create_topic, produce
from tests.kafka.conftest import KAFKA_VERSION, SMALL_POOL
from tests.kafka.localkafka import LocalKafka, broker_secret, local_kafka

TLS_PORT = 9094
SPEC = parse_cluster(
    "secure",
    "kafka",
    {
        "mode": "combined",
        "controllers": {"replicas": 1, **SMALL_POOL},
        "listeners": [{"name": "tls", "port": TLS_PORT, "tls": True}],
    },
)


@pytest.fixture(scope="module")
def certificates() -> Certificates:
    return keep_certificates(
        SPEC,
        ca_data=None,
        broker_files={},
        revision=None,
        now=datetime.datetime.now(datetime.UTC),
    )


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory, certificates: Certificates) -> Path:
    """ca.crt as a client gets it from the Secret <cluster>-cluster-ca-cert."""
    path = tmp_path_factory.mktemp("client") / "ca.crt"
    path.write_bytes(certificates.ca_certificate)
    return path


@pytest.fixture(scope="module")
def secure(
    tmp_path_factory: pytest.TempPathFactory, certificates: Certificates
) -> Iterator[LocalKafka]:
    base = tmp_path_factory.mktemp("secure")
    tls_dir = broker_secret(base, certificates.brokers)
    with local_kafka(SPEC, new_cluster_id(), base, KAFKA_VERSION, tls_dir=tls_dir) as cluster:
        yield cluster


def tls_client(ca_file: Path) -> dict[str, Any]:
    return {"security_protocol": "SSL", "ssl_cafile": str(ca_file), "ssl_check_hostname": True}


def test_a_client_trusting_the_cluster_ca_produces_and_consumes_over_tls(
    secure: LocalKafka, ca_file: Path
) -> None:
    bootstrap = secure.bootstrap(TLS_PORT)
    security = tls_client(ca_file)
    create_topic(bootstrap, "sealed", partitions=3, replicas=1, security=security)
    sent = [f"sealed-{index}".encode() for index in range(200)]
    assert produce(bootstrap, "sealed", sent, security=security) == len(sent)
    assert sorted(consume_all(bootstrap, "sealed", len(sent), security=security)) == sorted(sent)


def _handshake(node_host: str, context: ssl.SSLContext) -> dict[str, Any]:
    with (
        socket.create_connection((node_host, TLS_PORT), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=node_host) as wrapped,
    ):
        return wrapped.getpeercert() or {}


def test_the_broker_presents_its_own_certificate_for_its_names(
    secure: LocalKafka, ca_file: Path
) -> None:
    node = secure.brokers[0]
    presented = _handshake(node.host, ssl.create_default_context(cafile=str(ca_file)))
    sans = {value for kind, value in presented["subjectAltName"] if kind == "DNS"}
    assert sans == set(names.broker_dns_names("secure", "kafka", node.pool.role, node.ordinal))


def test_a_client_that_does_not_trust_the_ca_fails_the_handshake(secure: LocalKafka) -> None:
    node = secure.brokers[0]
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        _handshake(node.host, ssl.create_default_context())
    # kafka-python with TLS but without the CA gets no broker either.
    with pytest.raises(kafka.errors.KafkaError):
        _bootstrapped_client(
            bootstrap_servers=secure.bootstrap(TLS_PORT),
            security_protocol="SSL",
            request_timeout_ms=5000,
            bootstrap_timeout_ms=5000,
        ).close()


def test_a_plaintext_client_cannot_talk_to_the_tls_port(secure: LocalKafka) -> None:
    with pytest.raises(KafkaUnavailable):
        KafkaPythonAdmin(secure.bootstrap(TLS_PORT), timeout_ms=5000, connect_timeout_ms=5000)


def test_the_operator_reaches_kafka_over_the_plaintext_replication_listener(
    secure: LocalKafka,
) -> None:
    assert SPEC.operator_bootstrap == f"{secure.brokers[0].host}:9091"
    admin = KafkaPythonAdmin(SPEC.operator_bootstrap, connect_timeout_ms=30000)
    try:
        assert admin.cluster().cluster_id == secure.cluster_id
    finally:
        admin.close()


def test_a_broker_without_its_certificate_never_starts(tmp_path: Path) -> None:
    """A pod whose file is not in the Secret (or a Secret not mounted) stops in the entrypoint,
    naming the file: a TLS listener never comes up without its certificate, nor plaintext."""
    empty = tmp_path / "tls"
    empty.mkdir()
    cluster = LocalKafka(
        spec=SPEC,
        cluster_id=new_cluster_id(),
        base=tmp_path,
        version=KAFKA_VERSION,
        tls_dir=empty,
    )
    node = cluster.nodes[0]
    cluster.start_node(node)
    assert node.process is not None
    code = node.process.wait(timeout=60)
    node.process = None
    assert code != 0
    log = node.log.read_text()
    assert f"no readable TLS key store {empty}/{node.pod}.pem for this pod" in log
    assert not (node.work_dir / "server.properties").exists()
