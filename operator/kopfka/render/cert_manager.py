"""The cert-manager Certificates of a cluster with spec.clusterCa.certManager: one per node that
needs a certificate (the brokers; with internalListeners.tls every node) and, with
internalListeners.tls, one for the operator, all from the user's issuer. cert-manager issues
each into a Secret of the Certificate's name; certs/issued.py reads those into the Secret the
nodes mount (render/tls.py), so the nodes, their restart hash and the operator's Jobs work the
same whoever issues.

Why a Certificate per node rather than a CA for kopfka: the issuer's CA key (in Vault, a cloud
CA, or a Secret only cert-manager reads) never reaches kopfka nor the cluster's namespace.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kopfka.certs.kept import wanted_files
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.render import meta

# Kafka reads a PEM key store's key only as PKCS#8; EC P-256, as kopfka's own certificates.
PRIVATE_KEY = {"algorithm": "ECDSA", "size": 256, "encoding": "PKCS8", "rotationPolicy": "Always"}
NODE_USAGES = ("digital signature", "server auth", "client auth")
OPERATOR_USAGES = ("digital signature", "client auth")


def issued_secret_labels(spec: ClusterSpec) -> dict[str, str]:
    """The labels of the Secrets cert-manager issues for the cluster (its secretTemplate): the
    reconcile lists them by these."""
    return {
        **names.selector_labels(spec.name),
        "app.kubernetes.io/component": names.ISSUED_CERTIFICATE_COMPONENT,
    }


def certificates(spec: ClusterSpec) -> list[dict[str, Any]]:
    """The Certificates to apply; none without spec.clusterCa.certManager or TLS."""
    if spec.cluster_ca.cert_manager is None or not spec.needs_certificates:
        return []
    found = [
        _certificate(spec, key.removesuffix(".pem"), dns_names=dns_names, usages=NODE_USAGES)
        for key, dns_names in wanted_files(spec).items()
    ]
    if spec.internal_tls:
        found.append(
            _certificate(
                spec,
                names.operator_certificate_holder(spec.name),
                dns_names=(),
                usages=OPERATOR_USAGES,
                common_name=names.OPERATOR_COMMON_NAME,
            )
        )
    return found


def _certificate(
    spec: ClusterSpec,
    holder: str,
    *,
    dns_names: Sequence[str],
    usages: Sequence[str],
    common_name: str | None = None,
) -> dict[str, Any]:
    issuer = spec.cluster_ca.cert_manager
    assert issuer is not None
    lifetime = spec.broker_certificates
    name = names.issued_certificate_name(holder)
    body: dict[str, Any] = {
        "secretName": name,
        "secretTemplate": {"labels": issued_secret_labels(spec)},
        "duration": f"{lifetime.validity_days * 24}h",
        "renewBefore": f"{lifetime.renewal_days * 24}h",
        "privateKey": dict(PRIVATE_KEY),
        "usages": list(usages),
        "issuerRef": {"name": issuer.name, "kind": issuer.kind, "group": issuer.group},
    }
    if common_name is not None:
        body["commonName"] = common_name
    if dns_names:
        body["dnsNames"] = list(dns_names)
    return {
        "apiVersion": names.CERTIFICATE_API_VERSION,
        "kind": names.CERTIFICATE_KIND,
        "metadata": meta.object_meta(
            spec,
            name,
            names.labels(spec.name, names.ISSUED_CERTIFICATE_COMPONENT, version=spec.version),
        ),
        "spec": body,
    }
