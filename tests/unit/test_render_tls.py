"""Rendering a cluster with TLS listeners: the Secrets, server.properties' security settings, the
brokers' volume, and the restart hash that rolls them when their certificates change."""

from __future__ import annotations

import base64
import dataclasses
from typing import Any

import pytest

from kopfka.certs.issue import new_authority
from kopfka.certs.keep import keep_certificates
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.hashing import stable_hash
from kopfka.model.names import Role
from kopfka.render import config, statefulset
from kopfka.render.cluster import render_cluster
from kopfka.render.tls import CERTIFICATES_REVISION_ANNOTATION
from tests.support.render import properties
from tests.support.tls import NOW, ca_secret_data, new_certificates

PLAIN = {"name": "plain", "port": 9092}
TLS = {"name": "secure", "port": 9094, "tls": True}
DEDICATED = {"brokers": {"replicas": 3}, "listeners": [PLAIN, TLS]}
COMBINED = {"mode": "combined", "controllers": {"replicas": 1}, "listeners": [TLS]}


def parse(spec: dict[str, Any]) -> ClusterSpec:
    return parse_cluster("events", "streaming", spec)


def test_a_tls_listener_is_ssl_with_each_brokers_own_pem_key_store() -> None:
    spec = parse(DEDICATED)
    brokers = properties(spec, Role.BROKER)
    assert brokers["listener.security.protocol.map"] == (
        "CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,PLAIN:PLAINTEXT,SECURE:SSL"
    )
    assert brokers["listener.name.secure.ssl.keystore.type"] == "PEM"
    assert brokers["listener.name.secure.ssl.keystore.location"] == (
        "${KOPFKA_TLS_DIR}/${POD_NAME}.pem"
    )
    # Nothing secret in the ConfigMap: a file name, never PEM text.
    assert "PRIVATE KEY" not in config.server_properties(spec, spec.broker_pool)
    assert not any(key.startswith("listener.name.plain.") for key in brokers)
    # Controllers serve no client listener.
    controllers = properties(spec, Role.CONTROLLER)
    assert controllers["listener.security.protocol.map"] == "CONTROLLER:PLAINTEXT"
    assert not any("ssl" in key for key in controllers)


def test_combined_nodes_serve_tls_too() -> None:
    nodes = properties(parse(COMBINED), Role.COMBINED)
    assert nodes["listener.security.protocol.map"] == (
        "CONTROLLER:PLAINTEXT,REPLICATION:PLAINTEXT,SECURE:SSL"
    )
    assert nodes["listener.name.secure.ssl.keystore.type"] == "PEM"


def test_without_tls_nothing_changes() -> None:
    spec = parse({"brokers": {"replicas": 3}})
    assert "ssl" not in config.server_properties(spec, spec.broker_pool)
    pod = statefulset.pod_spec(spec, spec.broker_pool, "cid")
    assert "tls" not in {volume["name"] for volume in pod["volumes"]}
    assert not any(obj["kind"] == "Secret" for obj in render_cluster(spec, "cid"))
    # The restart hash of a cluster without TLS is what it was before TLS existed.
    pool = spec.broker_pool
    assert statefulset.restart_hash(spec, pool, "cid") == stable_hash(
        config.server_properties(spec, pool, dynamic=False),
        statefulset.pod_spec(spec, pool, "cid"),
    )


def test_brokers_mount_the_certificates_secret_read_only() -> None:
    spec = parse(DEDICATED)
    pod = statefulset.pod_spec(spec, spec.broker_pool, "cid")
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert volumes["tls"] == {
        "name": "tls",
        "secret": {"secretName": "events-kafka-tls", "defaultMode": 0o440},
    }
    mounts = {mount["name"]: mount for mount in pod["containers"][0]["volumeMounts"]}
    assert mounts["tls"] == {"name": "tls", "mountPath": "/etc/kopfka/tls", "readOnly": True}
    controllers = statefulset.pod_spec(spec, spec.controller_pool, "cid")
    assert "tls" not in {volume["name"] for volume in controllers["volumes"]}


def _data(secret: dict[str, Any]) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in secret["data"].items()}


def test_the_secrets_come_first_owned_labelled_and_holding_what_was_issued() -> None:
    spec = parse(DEDICATED)
    certificates = new_certificates(spec)
    assert certificates is not None
    objects = render_cluster(spec, "cid", certificates=certificates)
    secrets = [obj for obj in objects if obj["kind"] == "Secret"]
    assert objects[: len(secrets)] == secrets
    by_name = {secret["metadata"]["name"]: secret for secret in secrets}
    assert set(by_name) == {"events-cluster-ca", "events-cluster-ca-cert", "events-kafka-tls"}
    assert _data(by_name["events-cluster-ca"]) == {
        "ca.crt": certificates.ca_certificate,
        "ca.key": certificates.ca_key,
    }
    assert _data(by_name["events-cluster-ca-cert"]) == {"ca.crt": certificates.ca_certificate}
    brokers = by_name["events-kafka-tls"]
    assert set(_data(brokers)) == {f"events-brokers-{ordinal}.pem" for ordinal in range(3)}
    assert brokers["metadata"]["annotations"] == {
        CERTIFICATES_REVISION_ANNOTATION: certificates.revision
    }
    for secret in secrets:
        labels = secret["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "kopfka"
        assert labels["kopfka.dev/cluster"] == "events"
        assert secret["type"] == "Opaque"


def test_during_a_rotation_clients_trust_the_old_and_the_new_ca() -> None:
    spec = parse(DEDICATED)
    certificates = new_certificates(spec)
    assert certificates is not None
    old = new_authority("old", now=NOW, validity_days=10).certificate_pem
    rotating = dataclasses.replace(certificates, previous_ca_certificate=old)
    secrets = {
        obj["metadata"]["name"]: _data(obj)
        for obj in render_cluster(spec, "cid", certificates=rotating)
        if obj["kind"] == "Secret"
    }
    assert secrets["events-cluster-ca-cert"] == {"ca.crt": certificates.ca_certificate + old}
    assert secrets["events-cluster-ca"]["previous-ca.crt"] == old
    assert secrets["events-cluster-ca"]["ca.crt"] == certificates.ca_certificate


def test_a_users_ca_is_never_rendered() -> None:
    spec = parse({**DEDICATED, "clusterCa": {"secretName": "my-ca"}})
    mine = new_authority("my CA", now=NOW, validity_days=100)
    certificates = keep_certificates(
        spec,
        ca_data=ca_secret_data(mine),
        broker_files={},
        revision=None,
        now=NOW,
    )
    assert certificates.ca_key is None
    assert certificates.ca_certificate == mine.certificate_pem
    names = {
        obj["metadata"]["name"]
        for obj in render_cluster(spec, "cid", certificates=certificates)
        if obj["kind"] == "Secret"
    }
    assert names == {"events-cluster-ca-cert", "events-kafka-tls"}


def test_tls_is_never_rendered_without_certificates() -> None:
    spec = parse(DEDICATED)
    with pytest.raises(ValueError, match="needs its certificates"):
        render_cluster(spec, "cid")
    with pytest.raises(ValueError, match="revision is needed"):
        statefulset.restart_hash(spec, spec.broker_pool, "cid")


def test_new_certificates_restart_the_brokers_and_only_them() -> None:
    spec = parse(DEDICATED)
    brokers, controllers = spec.broker_pool, spec.controller_pool
    assert statefulset.restart_hash(
        spec, brokers, "cid", certificates="r1"
    ) != statefulset.restart_hash(spec, brokers, "cid", certificates="r2")
    assert statefulset.restart_hash(
        spec, controllers, "cid", certificates="r1"
    ) == statefulset.restart_hash(spec, controllers, "cid", certificates="r2")
    sts = statefulset.stateful_set(spec, brokers, "cid", certificates="r1")
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    assert annotations["kopfka.dev/restart-hash"] == statefulset.restart_hash(
        spec, brokers, "cid", certificates="r1"
    )


def test_turning_tls_on_restarts_the_brokers() -> None:
    plain = parse({"brokers": {"replicas": 3}, "listeners": [PLAIN]})
    secure = parse({"brokers": {"replicas": 3}, "listeners": [{**PLAIN, "tls": True}]})
    assert statefulset.restart_hash(plain, plain.broker_pool, "cid") != statefulset.restart_hash(
        secure, secure.broker_pool, "cid", certificates="r1"
    )
