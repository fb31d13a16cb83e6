"""The Secrets of a cluster whose client listeners have TLS: the CA kopfka makes (certificate and
key), the CA's certificate alone for clients, every broker's key store file and, with a listener
that wants client certificates, the clients CA kopfka makes (its certificates go into the
brokers' Secret as their trust store, never its key). With spec.internalListeners.tls, every
node's key store (controllers too), the CAs they trust, and the operator's own key store.

Rendered from what certs/keep.py kept or issued (`Certificates`); rendering makes no keys. The
brokers' Secret carries the revision of their certificates, which goes into the restart hash
(render/statefulset.py), so a renewal restarts the brokers one at a time.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from kopfka.certs.kept import PREVIOUS_CA_CERTIFICATE, Certificates
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.render import meta

CERTIFICATES_REVISION_ANNOTATION = f"{names.GROUP}/certificates-revision"


def _data(files: Mapping[str, bytes]) -> dict[str, str]:
    return {key: base64.b64encode(value).decode() for key, value in sorted(files.items())}


def _secret(
    spec: ClusterSpec, name: str, component: str, files: Mapping[str, bytes]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta.object_meta(
            spec, name, names.labels(spec.name, component, version=spec.version)
        ),
        "type": "Opaque",
        "data": _data(files),
    }


def secrets(spec: ClusterSpec, certificates: Certificates) -> list[dict[str, Any]]:
    objects = []
    if certificates.ca_key is not None:
        files = {"ca.crt": certificates.ca_certificate, "ca.key": certificates.ca_key}
        if certificates.previous_ca_certificate:
            files[PREVIOUS_CA_CERTIFICATE] = certificates.previous_ca_certificate
        objects.append(_secret(spec, names.cluster_ca_secret_name(spec.name), "cluster-ca", files))
    clients = certificates.clients_ca
    if clients is not None and clients.key is not None:
        files = {"ca.crt": clients.certificate, "ca.key": clients.key}
        if clients.previous:
            files[PREVIOUS_CA_CERTIFICATE] = clients.previous
        objects.append(_secret(spec, names.clients_ca_secret_name(spec.name), "clients-ca", files))
    objects.append(
        _secret(
            spec,
            names.cluster_ca_cert_secret_name(spec.name),
            "cluster-ca-cert",
            {"ca.crt": certificates.trusted},
        )
    )
    brokers = _secret(
        spec, names.broker_tls_secret_name(spec.name), "broker-tls", certificates.brokers
    )
    brokers["metadata"]["annotations"] = {CERTIFICATES_REVISION_ANNOTATION: certificates.revision}
    objects.append(brokers)
    if certificates.operator is not None:
        files = {**certificates.operator, names.OPERATOR_CLIENT_CONFIG: client_config().encode()}
        objects.append(
            _secret(spec, names.operator_tls_secret_name(spec.name), "operator-tls", files)
        )
    return objects


# Where the operator's Jobs mount its Secret (names.operator_tls_secret_name).
OPERATOR_TLS_MOUNT = "/etc/kopfka/operator-tls"
OPERATOR_TLS_VOLUME_MOUNT = {
    "name": "operator-tls",
    "mountPath": OPERATOR_TLS_MOUNT,
    "readOnly": True,
}


def operator_tls_volume(spec: ClusterSpec) -> dict[str, Any]:
    """The operator's Secret as a Job's volume (its files readable by the Job's user: the pod
    has no other container)."""
    return {
        "name": "operator-tls",
        "secret": {"secretName": names.operator_tls_secret_name(spec.name), "defaultMode": 0o444},
    }


def client_config() -> str:
    """A Kafka client config (Kafka's tools' --command-config) for the internal listeners with
    mutual TLS: the operator's key store and trust, as its Jobs mount them. Paths only: the
    keys stay in the Secret's own files."""
    return "".join(
        f"{key}={value}\n"
        for key, value in (
            ("security.protocol", "SSL"),
            ("ssl.keystore.type", "PEM"),
            ("ssl.keystore.location", f"{OPERATOR_TLS_MOUNT}/{names.OPERATOR_KEY_STORE}"),
            ("ssl.truststore.type", "PEM"),
            ("ssl.truststore.location", f"{OPERATOR_TLS_MOUNT}/{names.OPERATOR_TRUST}"),
        )
    )


def decoded(secret: Mapping[str, Any] | None) -> dict[str, bytes]:
    """A live Secret's data, decoded (empty when there is no Secret)."""
    data = (secret or {}).get("data") or {}
    return {key: base64.b64decode(value) for key, value in data.items()}
