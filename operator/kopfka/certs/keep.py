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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cryptography import x509

from kopfka.certs.check import (
    client_certificate_problem,
    good_under_trusted_ca,
    issuer_in_bundle,
    load_authority,
    node_trust,
    renewal_due,
    to_issue,
)
from kopfka.certs.issue import (
    Authority,
    client_bundle,
    client_certificate,
    new_authority,
    server_bundle,
)
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
    fingerprints,
    wanted_files,
)
from kopfka.model import names
from kopfka.model.cluster import ClusterCa, ClusterSpec


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


@dataclass(frozen=True)
class Nodes:
    """The nodes' side of a cluster's certificates, whoever issued them: the files of the nodes'
    Secret (each node's key store; with internalListeners.tls the trust file), the operator's
    key store and trust (internalListeners.tls), whether a running node's file or the nodes'
    trust changed (which restarts them), and the CA certificates clients trust, with the CA's
    key when kopfka made it and kopfka's previous CA still trusted."""

    files: dict[str, bytes]
    operator: dict[str, bytes] | None
    replaced: bool
    ca_certificate: bytes
    ca_key: bytes | None = None
    previous_ca_certificate: bytes | None = None


def keep_certificates(
    spec: ClusterSpec,
    *,
    ca_data: Mapping[str, bytes] | None,
    broker_files: Mapping[str, bytes],
    revision: str | None,
    now: datetime.datetime,
    clients_ca_data: Mapping[str, bytes] | None = None,
    operator_files: Mapping[str, bytes] | None = None,
    pods_trust: Sequence[frozenset[str]] = (),
    issued: Mapping[str, Mapping[str, bytes]] | None = None,
) -> Certificates:
    """The certificates `spec` needs, from the CA Secret's decoded `ca_data` (None: no such
    Secret) and the nodes' Secret as it is (`broker_files`, its `revision`); issues only what
    check.py finds not good. `spec` has the broker count to run (a scale-down keeps the leaving
    brokers until they are drained). With a listener that wants client certificates, the clients
    CA too, from its Secret's `clients_ca_data` (None: no such Secret), and its certificates go
    into the brokers' Secret as their trust store.

    With spec.internalListeners.tls, also the nodes' trust (names.NODE_TRUST_FILE) and the
    operator's key store (from its Secret's `operator_files`). `pods_trust` lists, for each pod
    of the cluster, the CAs its Kafka trusts (kopfka.dev/trusted-cas): while one of them does
    not trust the cluster CA yet (it was replaced), certificates of a CA every pod trusts are
    kept, and the new CA only joins the trust, which restarts the nodes; once all trust it,
    the next reconcile issues its certificates, which restarts them again.

    With spec.clusterCa.certManager, cert-manager issued the certificates: `issued` holds the
    decoded Secrets it wrote, by name, and certs/issued.py takes them (`ca_data` is not used).
    Raises CaProblem, or CertificatesPending while cert-manager has not issued one."""
    if spec.cluster_ca.cert_manager is not None:
        from kopfka.certs.issued import issued_nodes  # noqa: PLC0415 (it builds on this module)

        nodes = issued_nodes(
            spec,
            issued=issued or {},
            broker_files=broker_files,
            operator_files=operator_files or {},
            pods_trust=pods_trust,
            now=now,
        )
    else:
        nodes = _own_nodes(
            spec,
            ca_data=ca_data,
            broker_files=broker_files,
            operator_files=operator_files or {},
            pods_trust=pods_trust,
            now=now,
        )
    files, replaced = nodes.files, nodes.replaced
    clients_ca = _clients_ca(spec, clients_ca_data, now) if spec.mtls else None
    if clients_ca is not None:
        kept = broker_files.get(names.CLIENTS_CA_FILE)
        files[names.CLIENTS_CA_FILE] = clients_ca.trusted
        replaced = replaced or (kept is not None and kept != clients_ca.trusted)
    if revision is None or replaced:
        digest = hashlib.sha256(nodes.ca_certificate)
        for key in sorted(files):
            digest.update(key.encode() + b"\0" + files[key])
        revision = digest.hexdigest()[:10]
    return Certificates(
        ca_certificate=nodes.ca_certificate,
        ca_key=nodes.ca_key,
        previous_ca_certificate=nodes.previous_ca_certificate,
        brokers=files,
        revision=revision,
        clients_ca=clients_ca,
        operator=nodes.operator,
    )


def _own_nodes(
    spec: ClusterSpec,
    *,
    ca_data: Mapping[str, bytes] | None,
    broker_files: Mapping[str, bytes],
    operator_files: Mapping[str, bytes],
    pods_trust: Sequence[frozenset[str]],
    now: datetime.datetime,
) -> Nodes:
    """The nodes' certificates issued by the cluster CA kopfka keeps (its own, or the user's
    Secret's)."""
    authority, own, previous = _authority(
        spec.cluster_ca,
        ca_data,
        now,
        field="spec.clusterCa",
        own_secret=names.cluster_ca_secret_name(spec.name),
        common_name=f"kopfka cluster CA {spec.namespace}/{spec.name}",
        namespace=spec.namespace,
    )
    wanted = wanted_files(spec)
    operator_key = operator_files.get(names.OPERATOR_KEY_STORE) if spec.internal_tls else None
    if spec.internal_tls:
        wanted_all = {**wanted, names.OPERATOR_KEY_STORE: ()}
        existing = {**broker_files, names.OPERATOR_KEY_STORE: operator_key or b""}
    else:
        wanted_all, existing = dict(wanted), dict(broker_files)
    reasons = to_issue(
        existing,
        wanted_all,
        authority=authority.certificate,
        now=now,
        renewal_days=spec.broker_certificates.renewal_days,
    )
    if spec.internal_tls:
        _keep_while_trust_pending(
            spec,
            reasons,
            existing=existing,
            wanted=wanted_all,
            authority=authority,
            pods_trust=pods_trust,
            now=now,
        )
    lifetime = spec.broker_certificates.validity_days
    files = {
        key: (
            server_bundle(
                authority, key.removesuffix(".pem"), dns_names, now=now, validity_days=lifetime
            )
            if key in reasons
            else broker_files[key]
        )
        for key, dns_names in wanted.items()
    }
    replaced = any(
        reason != "missing" for key, reason in reasons.items() if key != names.OPERATOR_KEY_STORE
    )
    operator = None
    if spec.internal_tls:
        operator_store = (
            client_bundle(authority, names.OPERATOR_COMMON_NAME, now=now, validity_days=lifetime)
            if names.OPERATOR_KEY_STORE in reasons
            else existing[names.OPERATOR_KEY_STORE]
        )
        kept_trust = broker_files.get(names.NODE_TRUST_FILE, b"")
        trust = node_trust(
            authority.certificate_pem,
            [
                previous or b"",
                kept_trust,
                *(issuer_in_bundle(files[key]) for key in wanted),
                issuer_in_bundle(operator_store),
            ],
            now=now,
        )
        files[names.NODE_TRUST_FILE] = trust
        operator = {names.OPERATOR_KEY_STORE: operator_store, names.OPERATOR_TRUST: trust}
        # A CA the nodes did not trust before restarts them; one that expired and left does not.
        replaced = replaced or bool(
            kept_trust and set(fingerprints(trust)) - set(fingerprints(kept_trust))
        )
    return Nodes(
        files=files,
        operator=operator,
        replaced=replaced,
        ca_certificate=authority.certificate_pem,
        ca_key=authority.key_pem if own else None,
        previous_ca_certificate=previous,
    )


def _keep_while_trust_pending(
    spec: ClusterSpec,
    reasons: dict[str, str],
    *,
    existing: Mapping[str, bytes],
    wanted: Mapping[str, Sequence[str]],
    authority: Authority,
    pods_trust: Sequence[frozenset[str]],
    now: datetime.datetime,
) -> None:
    """While some pod does not trust the cluster CA, a file whose only fault is another CA that
    every pod trusts is kept (taken out of `reasons`): a certificate of the new CA would be
    refused by the pods that do not trust it yet."""
    (current,) = fingerprints(authority.certificate_pem)
    if all(current in trust for trust in pods_trust):
        return
    trusted_by_all = sorted(frozenset.intersection(*pods_trust))
    for key in [key for key, reason in reasons.items() if reason == "issued by another CA"]:
        if good_under_trusted_ca(
            existing.get(key),
            trusted=trusted_by_all,
            dns_names=wanted[key],
            now=now,
            renewal_days=spec.broker_certificates.renewal_days,
        ):
            del reasons[key]


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
