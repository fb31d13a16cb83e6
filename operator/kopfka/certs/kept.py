"""What a cluster's TLS Secrets hold, and why a CA cannot be used: the part of the certificates
that every reconcile and renderer sees, without the `cryptography` package.

Importing `cryptography` costs some 18 MiB of resident memory. Only clusters with TLS listeners
need it, so the modules that issue and check certificates (certs/keep.py, check.py, issue.py) are
imported when the first such cluster is reconciled, and the rest of the operator imports this
module instead (tests/unit/test_certs_imports.py holds it to that).
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec

_CERTIFICATE = re.compile(rb"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def fingerprints(pem: bytes) -> tuple[str, ...]:
    """Each certificate's SHA-256 fingerprint in a PEM file (16 hex digits: what a pod's
    kopfka.dev/trusted-cas annotation lists), read without `cryptography` and whatever the
    file's line breaks."""
    return tuple(
        hashlib.sha256(base64.b64decode(b"".join(found.split()))).hexdigest()[:16]
        for found in _CERTIFICATE.findall(pem)
    )


def wanted_files(spec: ClusterSpec) -> dict[str, tuple[str, ...]]:
    """Each node's file (by Secret key) and the DNS names its certificate must carry: the
    brokers', and with spec.internalListeners.tls every node's, controllers too."""
    pools = spec.pools if spec.internal_tls else (spec.broker_pool,)
    return {
        names.broker_tls_file(names.pod_name(spec.name, pool.role, ordinal)): (
            names.broker_dns_names(spec.name, spec.namespace, pool.role, ordinal)
        )
        for pool in pools
        for ordinal in range(pool.replicas)
    }


@dataclass(frozen=True)
class KeptCa:
    """A CA as the cluster keeps it: its certificate, its key when kopfka made it (None for the
    user's own CA, whose Secret is never written), and kopfka's CA before its last renewal,
    trusted next to the new one until it expires."""

    certificate: bytes
    key: bytes | None
    previous: bytes | None

    @property
    def trusted(self) -> bytes:
        return self.certificate + (self.previous or b"")


@dataclass(frozen=True)
class Certificates:
    """A cluster's TLS material as kept in its Secrets (render/tls.py)."""

    # The CA's certificate (PEM), what clients trust.
    ca_certificate: bytes
    # The CA's key (PEM) when kopfka made the CA; None for the user's own CA (its Secret is the
    # user's, never written).
    ca_key: bytes | None
    # kopfka's CA before its last renewal, until it expires: clients keep trusting it (next to
    # the new one) while the brokers roll onto certificates of the new CA.
    previous_ca_certificate: bytes | None
    # names.broker_tls_file(pod) -> that broker's key, certificate and CA certificate (PEM);
    # with a listener that wants client certificates, also names.CLIENTS_CA_FILE -> the clients
    # CA's certificates the brokers trust (`clients_ca.trusted`). The brokers' Secret's files.
    brokers: Mapping[str, bytes]
    # Changes when running brokers get new certificates, or trust another clients CA.
    revision: str
    # The clients CA (spec.clientsCa), for a cluster with a listener with authentication tls.
    clients_ca: KeptCa | None = None
    # With spec.internalListeners.tls: the operator's key store (names.OPERATOR_KEY_STORE: key,
    # client certificate, CA certificate) and the CAs it trusts (names.OPERATOR_TRUST).
    operator: Mapping[str, bytes] | None = None

    @property
    def node_trust(self) -> bytes:
        """With spec.internalListeners.tls, the CAs the nodes trust on the internal listeners
        (names.NODE_TRUST_FILE); empty without."""
        return self.brokers.get(names.NODE_TRUST_FILE, b"")

    @property
    def trusted(self) -> bytes:
        """What clients trust (`ca.crt` of <cluster>-cluster-ca-cert): the CA, and during a
        rotation of kopfka's CA the previous one too."""
        return self.ca_certificate + (self.previous_ca_certificate or b"")


@dataclass(frozen=True)
class UserCertificate:
    """A TLS KafkaUser's Secret's files (USER_FILES) and what its status says of the
    certificate; `issued`: why it was issued now (None: the kept one is still good)."""

    files: Mapping[str, bytes]
    subject: str
    not_after: str  # RFC 3339, UTC
    issued: str | None


# A TLS KafkaUser's Secret: its certificate, its key (PKCS#8), both in one file (key first: a
# Java client's PEM key store, ssl.keystore.location), and the cluster CA's certificates, which
# the client trusts to verify the brokers.
USER_CERTIFICATE = "user.crt"
USER_KEY = "user.key"
USER_KEY_STORE = "user.pem"
USER_CA = "ca.crt"
USER_FILES = (USER_CERTIFICATE, USER_KEY, USER_KEY_STORE, USER_CA)

# In kopfka's CA Secret: the CA certificate before the last renewal, until it expires.
PREVIOUS_CA_CERTIFICATE = "previous-ca.crt"


class CaProblem(Exception):
    """A CA cannot issue certificates: the user's Secret is `missing`, or a CA is not usable;
    `clients`: it is the clients CA, not the cluster CA. The message says what to fix."""

    def __init__(self, message: str, *, missing: bool = False, clients: bool = False) -> None:
        super().__init__(message)
        self.missing = missing
        self.clients = clients


class CertificatesPending(Exception):
    """cert-manager has not issued a usable certificate for some node (or the operator) yet,
    and there is none to keep meanwhile (spec.clusterCa.certManager). The message names them
    and says why."""
