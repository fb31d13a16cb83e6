"""Listeners with authentication tls (client certificates): the model, server.properties'
settings, the clients CA kopfka makes and keeps (certs/keep.py), its Secrets, and the trust store
in the brokers' Secret whose changes roll the brokers."""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import pytest
from cryptography import x509

from kopfka.certs.issue import new_authority
from kopfka.certs.keep import keep_certificates
from kopfka.certs.kept import PREVIOUS_CA_CERTIFICATE, CaProblem, Certificates
from kopfka.model import names, schema
from kopfka.model.cluster import ClusterSpec, Lifetime, operator_bootstrap_of, parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.names import Role
from kopfka.render.cluster import render_cluster
from tests.support.render import properties
from tests.support.tls import NOW, ca_secret_data

PLAIN = {"name": "plain", "port": 9092}
TLS = {"name": "secure", "port": 9094, "tls": True}
MTLS = {"name": "mtls", "port": 9096, "tls": True, "authentication": {"type": "tls"}}


def parse(*listeners: dict[str, Any], **extra: Any) -> ClusterSpec:
    return parse_cluster(
        "events",
        "streaming",
        {"brokers": {"replicas": 3}, "listeners": list(listeners), **extra},
    )


def first(spec: ClusterSpec, **kwargs: Any) -> Certificates:
    return keep_certificates(spec, ca_data=None, broker_files={}, revision=None, now=NOW, **kwargs)


def again(spec: ClusterSpec, kept: Certificates, **changes: Any) -> Certificates:
    """The next reconcile, reading back what the Secrets hold (`changes` override)."""
    assert kept.ca_key is not None
    assert kept.clients_ca is not None
    clients = kept.clients_ca
    clients_data = {"ca.crt": clients.certificate, "ca.key": clients.key or b""}
    if clients.previous:
        clients_data[PREVIOUS_CA_CERTIFICATE] = clients.previous
    arguments: dict[str, Any] = {
        "ca_data": {"ca.crt": kept.ca_certificate, "ca.key": kept.ca_key},
        "broker_files": kept.brokers,
        "revision": kept.revision,
        "now": NOW,
        "clients_ca_data": clients_data,
    }
    return keep_certificates(spec, **{**arguments, **changes})


def test_the_model_knows_which_listeners_want_client_certificates() -> None:
    spec = parse(PLAIN, TLS, MTLS)
    assert spec.mtls
    assert spec.tls
    assert [listener.mtls for listener in spec.listeners] == [False, False, True]
    # A client certificate is checked in the TLS handshake: the listener speaks SSL.
    assert spec.listeners[2].security_protocol == "SSL"
    assert not parse(PLAIN, TLS).mtls
    assert spec.clients_ca.secret_name is None
    assert spec.clients_ca.lifetime == Lifetime(1825, 30)
    assert spec.user_certificates == Lifetime(365, 30)


def test_client_certificates_need_tls_on_the_listener() -> None:
    with pytest.raises(SpecError) as error:
        parse({**MTLS, "tls": False})
    assert any(schema.MTLS_NEEDS_TLS in problem for problem in error.value.problems)


def test_an_mtls_listener_requires_certificates_of_the_clients_ca_and_maps_cn() -> None:
    brokers = properties(parse(PLAIN, MTLS), Role.BROKER)
    prefix = "listener.name.mtls.ssl."
    assert brokers["listener.security.protocol.map"] == (
        "CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,PLAIN:PLAINTEXT,MTLS:SSL"
    )
    assert brokers[prefix + "keystore.location"] == "${KOPFKA_TLS_DIR}/${POD_NAME}.pem"
    assert brokers[prefix + "client.auth"] == "required"
    assert brokers[prefix + "truststore.type"] == "PEM"
    assert brokers[prefix + "truststore.location"] == "${KOPFKA_TLS_DIR}/clients-ca.crt"
    # As written for Java's properties reader ($ escaped, so the entrypoint never sees one).
    assert brokers[prefix + "principal.mapping.rules"] == (
        r"RULE\:^CN\=([^,]+)(,.*)?\u0024/\u00241/,DEFAULT"
    )
    # Only that listener: a plain TLS listener asks for no client certificate.
    tls_only = properties(parse(PLAIN, TLS), Role.BROKER)
    assert not any("client.auth" in key or "truststore" in key for key in tls_only)
    assert not any(key.startswith("listener.name.plain.") for key in brokers)


def test_the_operator_never_uses_a_listener_that_wants_a_client_certificate() -> None:
    spec = parse(MTLS)
    assert spec.operator_bootstrap.endswith(":9091")
    assert "events-brokers-0.events-brokers.streaming.svc:9091" in spec.operator_bootstrap
    raw = {"brokers": {"replicas": 3}, "listeners": [MTLS]}
    assert operator_bootstrap_of("events", "streaming", raw) == spec.operator_bootstrap
    with_plain = parse(MTLS, PLAIN)
    assert with_plain.operator_bootstrap == "events-kafka-bootstrap.streaming.svc:9092"


def test_a_new_cluster_gets_a_clients_ca_whose_certificates_the_brokers_trust() -> None:
    spec = parse(PLAIN, MTLS)
    made = first(spec)
    assert made.clients_ca is not None
    assert made.clients_ca.key is not None
    assert made.clients_ca.certificate != made.ca_certificate
    ca = x509.load_pem_x509_certificate(made.clients_ca.certificate)
    assert ca.subject.rfc4514_string() == "CN=kopfka clients CA streaming/events,O=kopfka"
    assert made.brokers[names.CLIENTS_CA_FILE] == made.clients_ca.certificate
    rendered = {
        obj["metadata"]["name"]: obj for obj in render_cluster(spec, "cid", certificates=made)
    }
    clients = rendered["events-clients-ca"]
    assert set(clients["data"]) == {"ca.crt", "ca.key"}
    assert clients["metadata"]["labels"]["app.kubernetes.io/component"] == "clients-ca"
    brokers = rendered["events-kafka-tls"]
    assert names.CLIENTS_CA_FILE in brokers["data"]
    # The brokers' Secret never holds a CA key.
    assert not any(
        b"PRIVATE KEY" in made.brokers[key] for key in brokers["data"] if key.endswith(".crt")
    )


def test_a_cluster_without_an_mtls_listener_makes_no_clients_ca() -> None:
    made = first(parse(PLAIN, TLS))
    assert made.clients_ca is None
    assert names.CLIENTS_CA_FILE not in made.brokers
    rendered = {
        obj["metadata"]["name"]
        for obj in render_cluster(parse(PLAIN, TLS), "cid", certificates=made)
    }
    assert "events-clients-ca" not in rendered


def test_an_unchanged_clients_ca_is_kept_and_restarts_nobody() -> None:
    spec = parse(MTLS)
    made = first(spec)
    kept = again(spec, made)
    assert kept == made


def test_turning_client_certificates_on_keeps_the_revision() -> None:
    """The listener's new settings roll the brokers anyway; adding the trust store is no
    replacement of what running brokers use."""
    before = first(parse(TLS))
    after = keep_certificates(
        parse(TLS, MTLS),
        ca_data={"ca.crt": before.ca_certificate, "ca.key": before.ca_key or b""},
        broker_files=before.brokers,
        revision=before.revision,
        now=NOW,
    )
    assert after.revision == before.revision
    assert after.clients_ca is not None
    assert names.CLIENTS_CA_FILE in after.brokers


def test_a_renewed_clients_ca_is_trusted_with_the_previous_one_and_rolls_the_brokers() -> None:
    spec = parse(MTLS, clientsCa={"validityDays": 100, "renewalDays": 10})
    made = first(spec)
    assert made.clients_ca is not None
    later = again(spec, made, now=NOW + datetime.timedelta(days=95))
    assert later.clients_ca is not None
    assert later.clients_ca.certificate != made.clients_ca.certificate
    assert later.clients_ca.previous == made.clients_ca.certificate
    assert later.brokers[names.CLIENTS_CA_FILE] == (
        later.clients_ca.certificate + made.clients_ca.certificate
    )
    assert later.revision != made.revision
    # The cluster CA was not due: the brokers' own certificates stay.
    assert later.ca_certificate == made.ca_certificate


def test_a_users_own_clients_ca_is_read_never_written() -> None:
    spec = parse(MTLS, clientsCa={"secretName": "my-clients-ca"})
    authority = new_authority("mine", now=NOW, validity_days=1000)
    made = first(spec, clients_ca_data=ca_secret_data(authority))
    assert made.clients_ca is not None
    assert made.clients_ca.key is None
    assert made.clients_ca.certificate == authority.certificate_pem
    rendered = {obj["metadata"]["name"] for obj in render_cluster(spec, "cid", certificates=made)}
    assert "events-clients-ca" not in rendered
    assert "my-clients-ca" not in rendered


@pytest.mark.parametrize(
    ("extra", "data", "missing", "message"),
    [
        (
            {"clientsCa": {"secretName": "my-clients-ca"}},
            None,
            True,
            "spec.clientsCa.secretName: Secret my-clients-ca is not found in namespace streaming",
        ),
        (
            {"clientsCa": {"secretName": "my-clients-ca"}},
            {"ca.crt": b"not pem", "ca.key": b"x"},
            False,
            "Secret my-clients-ca: ca.crt is not a PEM certificate",
        ),
        (
            {},
            {"ca.crt": b"not pem", "ca.key": b"x"},
            False,
            "every TLS KafkaUser then gets a new certificate",
        ),
    ],
)
def test_a_clients_ca_that_cannot_be_used_is_a_clients_ca_problem(
    extra: dict[str, Any], data: dict[str, bytes] | None, missing: bool, message: str
) -> None:
    with pytest.raises(CaProblem) as problem:
        first(parse(MTLS, **extra), clients_ca_data=data)
    assert problem.value.clients
    assert problem.value.missing is missing
    assert message in str(problem.value)


def test_the_clients_ca_and_the_cluster_ca_are_never_the_same_key() -> None:
    made = first(parse(MTLS))
    assert made.clients_ca is not None
    assert made.clients_ca.key != made.ca_key
    assert dataclasses.asdict(made)["clients_ca"]["previous"] is None
