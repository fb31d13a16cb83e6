"""cert-manager's real controller issues a node certificate of the shape kopfka asks for.

kopfka will let cert-manager issue its brokers' certificates: a `cert-manager.io/v1` Certificate
per node, signed by the user's Issuer or ClusterIssuer. This module proves the harness does what
those tests will rely on: the controller built from the module proxy (hack/cert-manager.sh),
running against the tier's control plane (tests/support/certmanager.py), turns a Certificate with
server and client auth, an ECDSA P-256 key in PKCS#8 and the nodes' DNS names into a Ready
Certificate and a Secret whose tls.crt the CA signed, whose tls.key is PKCS#8 PEM and whose
ca.crt is the CA's certificate, for a namespaced Issuer and for a ClusterIssuer alike.
"""

from __future__ import annotations

import base64
import datetime
import uuid
from collections.abc import Iterator

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from kopfka.certs.issue import new_authority
from tests.integration.conftest import CertManagerPlane
from tests.support.certmanager import key_pair_secret
from tests.support.kube import Obj, TestKube, condition_true, status_summary
from tests.support.waiting import wait_for

CERT_MANAGER = "cert-manager.io/v1"
READY_TIMEOUT = 60.0
PEM_PRIVATE_KEY = b"-----BEGIN PRIVATE KEY-----"


@pytest.fixture
def cm_namespace(kube: TestKube, cert_manager: CertManagerPlane) -> Iterator[str]:
    """A namespace of this test's own: the shared `namespace` fixture would start the operator,
    which cert-manager does not need."""
    name = f"it-cert-manager-{uuid.uuid4().hex[:5]}"
    kube.kubectl("create", "namespace", name)
    kube.kubectl("label", "namespace", name, "kopfka.dev/integration-test=true")
    yield name
    kube.kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found")


def _wait_ready(kube: TestKube, kind: str, name: str, namespace: str | None = None) -> Obj:
    def ready() -> Obj | None:
        found = kube.get(CERT_MANAGER, kind, name, namespace)
        return found if condition_true(found, "Ready") else None

    return wait_for(
        ready,
        timeout=READY_TIMEOUT,
        what=f"{kind} {namespace or ''}/{name} to be Ready",
        describe=lambda: status_summary(kube.get(CERT_MANAGER, kind, name, namespace)),
    )


def _data(secret: Obj) -> dict[str, bytes]:
    return {key: base64.b64decode(value) for key, value in (secret.get("data") or {}).items()}


@pytest.mark.parametrize("issuer_kind", ["Issuer", "ClusterIssuer"])
def test_a_ca_issuer_issues_a_node_certificate_with_the_requested_shape(
    kube: TestKube, cert_manager: CertManagerPlane, cm_namespace: str, issuer_kind: str
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    authority = new_authority("kopfka integration test CA", now=now, validity_days=30)
    issuer = f"ca-{uuid.uuid4().hex[:6]}"
    cluster_scoped = issuer_kind == "ClusterIssuer"
    # A ClusterIssuer's Secret lives in the controller's cluster resource namespace.
    secret_namespace = cert_manager.cluster_resource_namespace if cluster_scoped else cm_namespace
    kube.apply(
        key_pair_secret(f"{issuer}-key-pair", secret_namespace, authority),
        {
            "apiVersion": CERT_MANAGER,
            "kind": issuer_kind,
            "metadata": {"name": issuer} | ({} if cluster_scoped else {"namespace": cm_namespace}),
            "spec": {"ca": {"secretName": f"{issuer}-key-pair"}},
        },
    )
    try:
        _wait_ready(kube, issuer_kind, issuer, None if cluster_scoped else cm_namespace)
        dns_names = [
            f"events-broker-0.events-kafka-brokers.{cm_namespace}.svc",
            f"events-broker-0.events-kafka-brokers.{cm_namespace}.svc.cluster.local",
        ]
        kube.apply(
            {
                "apiVersion": CERT_MANAGER,
                "kind": "Certificate",
                "metadata": {"name": "events-broker-0", "namespace": cm_namespace},
                "spec": {
                    "secretName": "events-broker-0-tls",
                    "dnsNames": dns_names,
                    "duration": "24h",
                    "usages": ["server auth", "client auth"],
                    "privateKey": {"algorithm": "ECDSA", "size": 256, "encoding": "PKCS8"},
                    "issuerRef": {"group": "cert-manager.io", "kind": issuer_kind, "name": issuer},
                },
            }
        )
        _wait_ready(kube, "Certificate", "events-broker-0", cm_namespace)

        secret = kube.must_get("v1", "Secret", "events-broker-0-tls", cm_namespace)
        assert secret["type"] == "kubernetes.io/tls"
        files = _data(secret)
        leaf = x509.load_pem_x509_certificate(files["tls.crt"])
        leaf.verify_directly_issued_by(authority.certificate)
        assert x509.load_pem_x509_certificate(files["ca.crt"]) == authority.certificate

        assert files["tls.key"].startswith(PEM_PRIVATE_KEY)
        key = serialization.load_pem_private_key(files["tls.key"], password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        assert isinstance(key.curve, ec.SECP256R1)
        assert key.public_key() == leaf.public_key()

        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert sorted(san.get_values_for_type(x509.DNSName)) == sorted(dns_names)
        usages = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= datetime.timedelta(hours=24)
    finally:
        if cluster_scoped:
            kube.delete(CERT_MANAGER, "ClusterIssuer", issuer)
            kube.delete("v1", "Secret", f"{issuer}-key-pair", secret_namespace)
