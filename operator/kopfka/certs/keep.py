"""Which certificates a cluster with TLS listeners keeps, and which it gets anew: the cluster CA
and the brokers' certificates, and with a listener that wants client certificates the clients CA
(made and renewed like the cluster CA, or the user's own).

Certificates are made once, kept in Secrets and used again: a reconcile of an unchanged cluster
finds every one still good and issues nothing (no write, no restart). A certificate is issued
again only when it is missing, unreadable, issued by another CA, made for other DNS names, or
within its renewal window; kopfka's own CA only when it is missing or within its window. The
revision of the brokers' certificates changes when a running broker's certificate is replaced,
not when a new broker's is added, so a scale-up restarts nobody.
"""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Mapping

from cryptography import x509

from kopfka.certs.check import (
    client_certificate_problem,
    load_authority,
    renewal_due,
    to_issue,
)
from kopfka.certs.issue import Authority, client_certificate, new_authority, server_bundle
from kopfka.certs.kept import (
    PREVIOUS_CA_CERTIFICATE,
    USER_CA,
    USER_CERTIFICATE,
    USER_KEY,
    USER_KEY_STORE,
    CaProblem,
    Certificates,
    KeptCa,
    UserCertificate,
)
from kopfka.model import names
from kopfka.model.cluster import ClusterCa, ClusterSpec


def wanted_files(spec: ClusterSpec) -> dict[str, tuple[str, ...]]:
    """Each broker pod's file (by Secret key) and the DNS names its certificate must carry."""
    pool = spec.broker_pool
    return {
        names.broker_tls_file(names.pod_name(spec.name, pool.role, ordinal)): (
            names.broker_dns_names(spec.name, spec.namespace, pool.role, ordinal)
        )
        for ordinal in range(pool.replicas)
    }


def _previous(data: Mapping[str, bytes], now: datetime.datetime) -> bytes | None:
    """The previous CA certificate kept in kopfka's CA Secret, while it is still valid."""
    kept = data.get(PREVIOUS_CA_CERTIFICATE)
    if not kept:
        return None
    try:
        certificate = x509.load_pem_x509_certificate(kept)
    except ValueError:
        return None
    return kept if now < certificate.not_valid_after_utc else None


def _authority(
    ca: ClusterCa,
    ca_data: Mapping[str, bytes] | None,
    now: datetime.datetime,
    *,
    field: str,
    own_secret: str,
    common_name: str,
    namespace: str,
    clients: bool = False,
) -> tuple[Authority, bool, bytes | None]:
    """The CA (`field`: spec.clusterCa or spec.clientsCa), whether kopfka made (or keeps) it in
    `own_secret`, and the previous CA certificate of kopfka's still to be trusted; raises
    CaProblem."""
    own = ca.secret_name is None
    source = ca.secret_name or own_secret
    lifetime = ca.lifetime
    if ca_data is None:
        if not own:
            raise CaProblem(
                f"{field}.secretName: Secret {source} is not found in namespace "
                f"{namespace}; it must hold ca.crt and ca.key (PEM)",
                missing=True,
                clients=clients,
            )
        made = new_authority(common_name, now=now, validity_days=lifetime.validity_days)
        return made, own, None
    found = load_authority(ca_data, now=now, source=source)
    if isinstance(found, str):
        if own:
            found += (
                "; kopfka does not replace a CA it cannot read: delete the Secret to have a new "
                "CA made (clients must then trust its ca.crt)"
                if not clients
                else "; kopfka does not replace a CA it cannot read: delete the Secret to have a "
                "new CA made (every TLS KafkaUser then gets a new certificate)"
            )
        raise CaProblem(found, clients=clients)
    if own and renewal_due(found.certificate, now=now, renewal_days=lifetime.renewal_days):
        renewed = new_authority(common_name, now=now, validity_days=lifetime.validity_days)
        return renewed, own, found.certificate_pem
    return found, own, _previous(ca_data, now) if own else None


def _clients_ca(
    spec: ClusterSpec, ca_data: Mapping[str, bytes] | None, now: datetime.datetime
) -> KeptCa:
    """The clients CA of a cluster with a listener with authentication tls; raises CaProblem."""
    authority, own, previous = _authority(
        spec.clients_ca,
        ca_data,
        now,
        field="spec.clientsCa",
        own_secret=names.clients_ca_secret_name(spec.name),
        common_name=f"kopfka clients CA {spec.namespace}/{spec.name}",
        namespace=spec.namespace,
        clients=True,
    )
    return KeptCa(
        certificate=authority.certificate_pem,
        key=authority.key_pem if own else None,
        previous=previous,
    )


def keep_certificates(
    spec: ClusterSpec,
    *,
    ca_data: Mapping[str, bytes] | None,
    broker_files: Mapping[str, bytes],
    revision: str | None,
    now: datetime.datetime,
    clients_ca_data: Mapping[str, bytes] | None = None,
) -> Certificates:
    """The certificates `spec` needs, from the CA Secret's decoded `ca_data` (None: no such
    Secret) and the brokers' Secret as it is (`broker_files`, its `revision`); issues only what
    check.py finds not good. `spec` has the broker count to run (a scale-down keeps the leaving
    brokers until they are drained). With a listener that wants client certificates, the clients
    CA too, from its Secret's `clients_ca_data` (None: no such Secret), and its certificates go
    into the brokers' Secret as their trust store. Raises CaProblem."""
    authority, own, previous = _authority(
        spec.cluster_ca,
        ca_data,
        now,
        field="spec.clusterCa",
        own_secret=names.cluster_ca_secret_name(spec.name),
        common_name=f"kopfka cluster CA {spec.namespace}/{spec.name}",
        namespace=spec.namespace,
    )
    clients_ca = _clients_ca(spec, clients_ca_data, now) if spec.mtls else None
    wanted = wanted_files(spec)
    reasons = to_issue(
        broker_files,
        wanted,
        authority=authority.certificate,
        now=now,
        renewal_days=spec.broker_certificates.renewal_days,
    )
    files = {
        key: (
            server_bundle(
                authority,
                key.removesuffix(".pem"),
                dns_names,
                now=now,
                validity_days=spec.broker_certificates.validity_days,
            )
            if key in reasons
            else broker_files[key]
        )
        for key, dns_names in wanted.items()
    }
    replaced = any(reason != "missing" for reason in reasons.values())
    if clients_ca is not None:
        kept = broker_files.get(names.CLIENTS_CA_FILE)
        files[names.CLIENTS_CA_FILE] = clients_ca.trusted
        replaced = replaced or (kept is not None and kept != clients_ca.trusted)
    if revision is None or replaced:
        digest = hashlib.sha256(authority.certificate_pem)
        for key in sorted(files):
            digest.update(key.encode() + b"\0" + files[key])
        revision = digest.hexdigest()[:10]
    return Certificates(
        ca_certificate=authority.certificate_pem,
        ca_key=authority.key_pem if own else None,
        previous_ca_certificate=previous,
        brokers=files,
        revision=revision,
        clients_ca=clients_ca,
    )


def keep_user_certificate(
    spec: ClusterSpec,
    username: str,
    *,
    clients_ca_data: Mapping[str, bytes] | None,
    cluster_ca_certificate: bytes,
    kept: Mapping[str, bytes],
    now: datetime.datetime,
) -> UserCertificate:
    """A TLS KafkaUser's Secret's files: the certificate it holds (`kept`, decoded) while
    check.py finds it good, else a new one from the clients CA (its Secret's decoded
    `clients_ca_data`; None: no such Secret); `ca.crt` is always the cluster CA's certificates
    as clients get them (`cluster_ca_certificate`). Never makes a CA: the cluster's reconcile
    does. Raises CaProblem (clients) when the clients CA cannot issue."""
    source = spec.clients_ca.secret_name or names.clients_ca_secret_name(spec.name)
    if clients_ca_data is None:
        why = (
            "is not made yet (the KafkaCluster's reconcile makes it)"
            if spec.clients_ca.secret_name is None
            else f"is not found in namespace {spec.namespace}"
        )
        raise CaProblem(f"the clients CA Secret {source} {why}", missing=True, clients=True)
    authority = load_authority(clients_ca_data, now=now, source=source)
    if isinstance(authority, str):
        raise CaProblem(authority, clients=True)
    lifetime = spec.user_certificates
    reason = client_certificate_problem(
        kept.get(USER_CERTIFICATE),
        kept.get(USER_KEY),
        authority=authority.certificate,
        username=username,
        now=now,
        renewal_days=lifetime.renewal_days,
    )
    if reason is None:
        certificate_pem, key_pem = kept[USER_CERTIFICATE], kept[USER_KEY]
    else:
        issued = client_certificate(
            authority, username, now=now, validity_days=lifetime.validity_days
        )
        certificate_pem, key_pem = issued.certificate_pem, issued.key_pem
    certificate = x509.load_pem_x509_certificate(certificate_pem)
    return UserCertificate(
        files={
            USER_CERTIFICATE: certificate_pem,
            USER_KEY: key_pem,
            USER_KEY_STORE: key_pem + certificate_pem,
            USER_CA: cluster_ca_certificate,
        },
        subject=certificate.subject.rfc4514_string(),
        not_after=f"{certificate.not_valid_after_utc:%Y-%m-%dT%H:%M:%SZ}",
        issued=reason,
    )
