"""The nodes' certificates of a cluster whose certificates cert-manager issues
(spec.clusterCa.certManager; render/cert_manager.py makes the Certificates).

What cert-manager wrote into each Certificate's Secret (tls.key, tls.crt, ca.crt) becomes the
same files kopfka's own certificates make (certs/keep.py), so the nodes, their restart hash and
the operator's Jobs work the same whoever issued: each node's `<pod>.pem` (its key as PKCS#8,
its certificate, the CA that issued it, the rest of the chain) and the CAs trusted, plus the
operator's key store with internalListeners.tls.

cert-manager decides when to issue (renewBefore, a changed Certificate, a deleted Secret); kopfka
decides when a node gets what was issued:
- a node takes a certificate cert-manager issued for it once it is usable (its key, the node's
  DNS names, valid now, issued by a CA found in tls.crt's chain or ca.crt); until then it keeps
  the file it has while that is still usable, and a node with neither holds up the reconcile
  (CertificatesPending);
- the CAs of every usable certificate join the trust (the `ca.crt` clients get, and the nodes'
  trust file) at once and stay until they expire;
- with internalListeners.tls, a certificate of a CA that some pod does not trust yet waits (the
  node keeps its file) until every pod trusts that CA: the two-step change of CA of
  certs/keep.py, whatever the issuer did.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from kopfka.certs.check import broker_certificate_problem, issuer_in_bundle, valid_union
from kopfka.certs.keep import Nodes
from kopfka.certs.kept import CertificatesPending, fingerprints, wanted_files
from kopfka.model import names
from kopfka.model.cluster import ClusterSpec

# What cert-manager writes into a Certificate's Secret.
TLS_CERTIFICATE = "tls.crt"
TLS_KEY = "tls.key"
CA_CERTIFICATE = "ca.crt"


def issued_nodes(
    spec: ClusterSpec,
    *,
    issued: Mapping[str, Mapping[str, bytes]],
    broker_files: Mapping[str, bytes],
    operator_files: Mapping[str, bytes],
    pods_trust: Sequence[frozenset[str]],
    now: datetime.datetime,
) -> Nodes:
    """The nodes' files from cert-manager's Secrets (`issued`: decoded, by name) and what the
    nodes' Secret (`broker_files`) and the operator's (`operator_files`) hold; `pods_trust` as
    for keep_certificates. Raises CertificatesPending."""
    wanted: dict[str, Sequence[str]] = dict(wanted_files(spec))
    holders = {key: key.removesuffix(".pem") for key in wanted}
    existing = dict(broker_files)
    if spec.internal_tls:
        wanted[names.OPERATOR_KEY_STORE] = ()
        holders[names.OPERATOR_KEY_STORE] = names.operator_certificate_holder(spec.name)
        existing[names.OPERATOR_KEY_STORE] = operator_files.get(names.OPERATOR_KEY_STORE, b"")
    offered: dict[str, tuple[bytes, bytes]] = {}
    problems: dict[str, str] = {}
    for key, dns_names in wanted.items():
        name = names.issued_certificate_name(holders[key])
        found = _usable(issued.get(name), dns_names=dns_names, now=now)
        if isinstance(found, str):
            problems[key] = f"Certificate {name}: {found}"
        else:
            offered[key] = found
    kept_trust = broker_files.get(names.NODE_TRUST_FILE, b"")
    trust = valid_union([kept_trust, *(cas for _, cas in offered.values())], now=now)
    trusted_by_all = frozenset.intersection(*pods_trust) if pods_trust else None
    files: dict[str, bytes] = {}
    replaced = False
    pending: list[str] = []
    for key, dns_names in wanted.items():
        kept = existing.get(key) or None
        kept_usable = kept is not None and _still_usable(kept, dns_names=dns_names, now=now)
        new = offered[key][0] if key in offered else None
        if (
            new is not None
            and new != kept
            and kept_usable
            and spec.internal_tls
            and trusted_by_all is not None
            and fingerprints(issuer_in_bundle(new))[0] not in trusted_by_all
        ):
            new = None  # its CA joins the pods' trust first
        if new is not None:
            files[key] = new
            replaced = replaced or (
                kept is not None and new != kept and key != names.OPERATOR_KEY_STORE
            )
        elif kept is not None and kept_usable:
            files[key] = kept
        else:
            pending.append(problems[key])  # a held certificate always has a kept file
    if pending:
        raise CertificatesPending(
            "waiting for cert-manager to issue usable certificates: " + "; ".join(pending)
        )
    files[names.NODE_TRUST_FILE] = trust
    operator = None
    if spec.internal_tls:
        operator = {
            names.OPERATOR_KEY_STORE: files.pop(names.OPERATOR_KEY_STORE),
            names.OPERATOR_TRUST: trust,
        }
        # A CA the nodes did not trust before restarts them; one that expired and left does not.
        replaced = replaced or bool(
            kept_trust and set(fingerprints(trust)) - set(fingerprints(kept_trust))
        )
    return Nodes(files=files, operator=operator, replaced=replaced, ca_certificate=trust)


def _usable(
    data: Mapping[str, bytes] | None, *, dns_names: Sequence[str], now: datetime.datetime
) -> tuple[bytes, bytes] | str:
    """From a Secret cert-manager wrote: the node's PEM file and the CA certificates of its
    chain (the issuer, the rest of tls.crt, ca.crt); or why it is not usable yet."""
    if not data or not data.get(TLS_CERTIFICATE) or not data.get(TLS_KEY):
        return "not issued yet"
    if not data.get(CA_CERTIFICATE):
        return (
            "its Secret has no ca.crt: kopfka needs the issuing CA's certificate, which CA, "
            "Vault and Venafi issuers write (SelfSigned and ACME issuers do not)"
        )
    try:
        chain = x509.load_pem_x509_certificates(data[TLS_CERTIFICATE])
        roots = x509.load_pem_x509_certificates(data[CA_CERTIFICATE])
        key = serialization.load_pem_private_key(data[TLS_KEY], password=None)
    except (ValueError, TypeError):
        return "its Secret holds no readable PEM certificate and unencrypted key"
    leaf, others = chain[0], [*chain[1:], *roots]
    issuer = next((candidate for candidate in others if _issued_by(leaf, candidate)), None)
    if issuer is None:
        return "neither tls.crt's chain nor ca.crt holds the CA that issued its certificate"
    pem = serialization.Encoding.PEM
    rest = [item for item in others if item not in (issuer, leaf)]
    bundle = b"".join(
        [
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
            leaf.public_bytes(pem),
            issuer.public_bytes(pem),
            *(item.public_bytes(pem) for item in chain[1:] if item != issuer),
        ]
    )
    problem = broker_certificate_problem(
        bundle, authority=issuer, dns_names=dns_names, now=now, renewal_days=0
    )
    if problem is not None:
        return f"not usable yet ({problem})"
    return bundle, b"".join([issuer.public_bytes(pem), *(item.public_bytes(pem) for item in rest)])


def _issued_by(certificate: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        certificate.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _still_usable(bundle: bytes, *, dns_names: Sequence[str], now: datetime.datetime) -> bool:
    """A node's kept PEM file: its key and certificate match, its names are the node's, and it
    and the CA it carries are valid now."""
    try:
        (issuer,) = x509.load_pem_x509_certificates(issuer_in_bundle(bundle))
    except ValueError:
        return False
    if not issuer.not_valid_before_utc <= now < issuer.not_valid_after_utc:
        return False
    return (
        broker_certificate_problem(
            bundle, authority=issuer, dns_names=dns_names, now=now, renewal_days=0
        )
        is None
    )
