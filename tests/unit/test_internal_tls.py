"""Mutual TLS on the internal listeners (spec.internalListeners.tls): what each node's config
says, which certificates a cluster keeps, how a new CA reaches the nodes without a node ever
refusing another, and how the operator's Jobs connect."""

from __future__ import annotations

import datetime
from typing import Any

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from kopfka.certs.issue import new_authority
from kopfka.certs.keep import keep_certificates
from kopfka.certs.kept import Certificates, fingerprints
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.live_settings import LivePlan
from kopfka.model.names import Role
from kopfka.model.upgrade import Finalize, release_of
from kopfka.render import features_job, settings_job, statefulset, tls, unregister_job
from kopfka.render.cluster import render_cluster
from kopfka.render.operator_job import JobImage, JobKind, render_operator_job
from tests.support.render import properties
from tests.support.tls import NOW, ca_secret_data

INTERNAL_TLS = {"internalListeners": {"tls": True}}


def parse(spec: dict[str, Any] | None = None, *, brokers: int = 3) -> ClusterSpec:
    return parse_cluster(
        "events", "streaming", {"brokers": {"replicas": brokers}, **INTERNAL_TLS, **(spec or {})}
    )


def first(spec: ClusterSpec) -> Certificates:
    return keep_certificates(spec, ca_data=None, broker_files={}, revision=None, now=NOW)


def again(
    spec: ClusterSpec,
    kept: Certificates,
    ca: dict[str, bytes],
    trust: list[frozenset[str]],
    *,
    now: datetime.datetime = NOW,
) -> Certificates:
    """The next reconcile: the CA Secret `ca`, the Secrets as `kept` left them, and what each
    of the six pods trusts (`trust`)."""
    return keep_certificates(
        spec,
        ca_data=ca,
        broker_files=kept.brokers,
        revision=kept.revision,
        now=now,
        operator_files=kept.operator,
        pods_trust=trust,
    )


def leaf(bundle: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificates(bundle)[0]


def usages(bundle: bytes) -> set[x509.ObjectIdentifier]:
    return set(leaf(bundle).extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_both_internal_listeners_are_mutual_tls_with_each_nodes_own_key_store() -> None:
    spec = parse()
    controller = properties(spec, Role.CONTROLLER)
    broker = properties(spec, Role.BROKER)
    assert "CONTROLLER:SSL" in controller["listener.security.protocol.map"]
    assert "REPLICATION:SSL" in broker["listener.security.protocol.map"]
    assert "CONTROLLER:SSL" in broker["listener.security.protocol.map"]
    for props, listeners in ((controller, ["controller"]), (broker, ["controller", "replication"])):
        for name in listeners:
            prefix = f"listener.name.{name}.ssl."
            assert props[prefix + "client.auth"] == "required"
            assert props[prefix + "keystore.type"] == "PEM"
            assert props[prefix + "keystore.location"] == "${KOPFKA_TLS_DIR}/${POD_NAME}.pem"
            assert props[prefix + "truststore.location"] == "${KOPFKA_TLS_DIR}/cluster-ca.crt"
    # Controllers never listen on, nor connect to, the replication listener.
    assert not any(key.startswith("listener.name.replication.") for key in controller)


def test_without_internal_tls_the_internal_listeners_stay_plaintext() -> None:
    spec = parse_cluster("events", "streaming", {"brokers": {"replicas": 3}})
    broker = properties(spec, Role.BROKER)
    assert "REPLICATION:PLAINTEXT" in broker["listener.security.protocol.map"]
    assert "CONTROLLER:PLAINTEXT" in broker["listener.security.protocol.map"]
    assert not any(key.startswith("listener.name.controller.") for key in broker)
    assert not spec.needs_certificates


def test_every_node_and_the_operator_get_a_certificate_of_the_cluster_ca() -> None:
    made = first(parse())
    pods = {f"events-controllers-{i}.pem" for i in range(3)} | {
        f"events-brokers-{i}.pem" for i in range(3)
    }
    assert set(made.brokers) == pods | {names.NODE_TRUST_FILE}
    ca = x509.load_pem_x509_certificate(made.ca_certificate)
    for key in pods:
        leaf(made.brokers[key]).verify_directly_issued_by(ca)
        # A node is a server to its peers and their client.
        assert usages(made.brokers[key]) == {
            ExtendedKeyUsageOID.SERVER_AUTH,
            ExtendedKeyUsageOID.CLIENT_AUTH,
        }
    controller = leaf(made.brokers["events-controllers-1.pem"])
    sans = controller.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "events-controllers-1.events-controllers.streaming.svc" in sans.get_values_for_type(
        x509.DNSName
    )
    assert made.operator is not None
    operator = made.operator[names.OPERATOR_KEY_STORE]
    leaf(operator).verify_directly_issued_by(ca)
    assert usages(operator) == {ExtendedKeyUsageOID.CLIENT_AUTH}
    assert made.operator[names.OPERATOR_TRUST] == made.node_trust == made.ca_certificate
    assert fingerprints(made.node_trust) == fingerprints(made.ca_certificate)


def test_an_unchanged_cluster_keeps_every_certificate_and_its_revision() -> None:
    spec = parse()
    made = first(spec)
    assert made.ca_key is not None
    ca = {"ca.crt": made.ca_certificate, "ca.key": made.ca_key}
    assert again(spec, made, ca, [frozenset(fingerprints(made.node_trust))] * 6) == made


def test_a_new_ca_is_trusted_by_every_node_before_any_presents_a_certificate_of_it() -> None:
    """The user's CA changes from one to two. Nodes that trust only one would refuse a peer
    with a certificate of two: first every node gets two into its trust (a restart each), and
    only when every pod trusts two are the certificates issued by it (a restart each again)."""
    spec = parse({"clusterCa": {"secretName": "my-ca"}})
    one = new_authority("one", now=NOW, validity_days=1000)
    two = new_authority("two", now=NOW, validity_days=1000)
    (fp_one,) = fingerprints(one.certificate_pem)
    (fp_two,) = fingerprints(two.certificate_pem)
    made = keep_certificates(
        spec, ca_data=ca_secret_data(one), broker_files={}, revision=None, now=NOW
    )
    assert made.operator is not None
    later = NOW + datetime.timedelta(days=1)

    trusting = again(spec, made, ca_secret_data(two), [frozenset({fp_one})] * 6, now=later)
    node_keys = [key for key in made.brokers if key != names.NODE_TRUST_FILE]
    # The certificates of one are kept, the trust gains two: a new revision (the nodes restart).
    assert all(trusting.brokers[key] == made.brokers[key] for key in node_keys)
    assert trusting.operator == {**made.operator, names.OPERATOR_TRUST: trusting.node_trust}
    assert set(fingerprints(trusting.node_trust)) == {fp_one, fp_two}
    assert trusting.revision != made.revision
    # Until every pod trusts two, nothing more happens.
    both = frozenset({fp_one, fp_two})
    one_left = [both] * 5 + [frozenset({fp_one})]
    assert again(spec, trusting, ca_secret_data(two), one_left, now=later) == trusting
    # Every pod trusts both: certificates of two, still trusting one, a new revision again.
    moved = again(spec, trusting, ca_secret_data(two), [both] * 6, now=later)
    for key in node_keys:
        leaf(moved.brokers[key]).verify_directly_issued_by(two.certificate)
    assert moved.operator is not None
    leaf(moved.operator[names.OPERATOR_KEY_STORE]).verify_directly_issued_by(two.certificate)
    assert set(fingerprints(moved.node_trust)) == {fp_one, fp_two}
    assert moved.revision not in {made.revision, trusting.revision}


def test_a_ca_leaves_the_trust_when_it_expires_without_a_restart() -> None:
    spec = parse({"clusterCa": {"secretName": "my-ca"}})
    one = new_authority("one", now=NOW, validity_days=10)
    two = new_authority("two", now=NOW, validity_days=1000)
    made = keep_certificates(
        spec, ca_data=ca_secret_data(one), broker_files={}, revision=None, now=NOW
    )
    both = frozenset(fingerprints(one.certificate_pem) + fingerprints(two.certificate_pem))
    moved = again(spec, made, ca_secret_data(two), [both] * 6)
    after = again(
        spec, moved, ca_secret_data(two), [both] * 6, now=NOW + datetime.timedelta(days=11)
    )
    assert fingerprints(after.node_trust) == fingerprints(two.certificate_pem)
    assert after.revision == moved.revision


def test_controllers_mount_the_certificates_and_restart_with_their_revision() -> None:
    spec = parse()
    made = first(spec)
    objects = render_cluster(spec, "id", certificates=made)
    sets = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "StatefulSet"}
    for name in ("events-controllers", "events-brokers"):
        template = sets[name]["spec"]["template"]
        volumes = {volume["name"]: volume for volume in template["spec"]["volumes"]}
        assert volumes["tls"]["secret"]["secretName"] == "events-kafka-tls"
        trusted = template["metadata"]["annotations"][names.TRUSTED_CAS_ANNOTATION]
        assert trusted == ",".join(fingerprints(made.ca_certificate))
    controllers = spec.controller_pool
    assert statefulset.restart_hash(spec, controllers, "id", certificates="a") != (
        statefulset.restart_hash(spec, controllers, "id", certificates="b")
    )
    secrets = {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == "Secret"}
    operator = tls.decoded(secrets["events-operator-tls"])
    assert set(operator) == {"operator.pem", "ca.crt", "client.properties"}
    assert b"security.protocol=SSL" in operator["client.properties"]


def test_the_operator_and_its_jobs_reach_the_replication_listener_with_their_certificate() -> None:
    spec = parse()
    assert spec.operator_bootstrap.split(",")[0] == (
        "events-brokers-0.events-brokers.streaming.svc:9091"
    )
    _, job = render_operator_job(
        spec,
        JobKind(
            command="topics-apply", container="topics", backoff_limit=1, active_deadline_seconds=60
        ),
        name="events-topics-x",
        labels={},
        pod_labels={},
        work=b"{}",
        bootstrap=spec.operator_bootstrap,
        image=JobImage(image="kopfka:dev", pull_policy="Never"),
    )
    pod = job["spec"]["template"]["spec"]
    args = pod["containers"][0]["args"]
    assert args[args.index("--tls-dir") + 1] == tls.OPERATOR_TLS_MOUNT
    assert {"name": "operator-tls", "mountPath": tls.OPERATOR_TLS_MOUNT, "readOnly": True} in (
        pod["containers"][0]["volumeMounts"]
    )
    assert any(
        volume.get("secret", {}).get("secretName") == "events-operator-tls"
        for volume in pod["volumes"]
    )
    config = f"{tls.OPERATOR_TLS_MOUNT}/client.properties"
    tools = [
        settings_job.render_settings_job(
            spec,
            LivePlan(to_set={"log.retention.ms": "1"}),
            bootstrap=spec.operator_bootstrap,
        ),
        features_job.render_features_job(
            spec,
            Finalize(release=release_of(spec.version), level=1),
            bootstrap=spec.operator_bootstrap,
        ),
        unregister_job.render_unregister_job(spec, 3, bootstrap=spec.operator_bootstrap),
    ]
    for tool in tools:
        container = tool["spec"]["template"]["spec"]["containers"][0]
        assert config in container["command"]
        flag = container["command"][container["command"].index(config) - 1]
        assert flag in {"--command-config", "--config"}
        assert any(mount["name"] == "operator-tls" for mount in container["volumeMounts"])
