"""spec.clusterCa.certManager: the cert-manager Certificates kopfka asks for, and how what
cert-manager issued becomes the nodes' files: usable certificates taken, a node that has none
holding the reconcile up, the CAs trusted, an intermediate CA's chain, a renewal, and with
internalListeners.tls a new CA trusted by every pod before any node presents its certificate.
(cert-manager itself issuing them: tests/integration/test_cert_manager_issuer.py.)"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

import pytest
from cryptography import x509

from kopfka.certs.issue import Authority, new_authority
from kopfka.certs.keep import keep_certificates
from kopfka.certs.kept import Certificates, CertificatesPending, fingerprints, wanted_files
from kopfka.model import names, schema
from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.errors import SpecError
from kopfka.render import cert_manager
from tests.support.tls import NOW, intermediate_authority, issued_secret

ISSUER = {"certManager": {"issuerRef": {"name": "company-ca"}}}
TLS_LISTENER = {"listeners": [{"name": "tls", "port": 9094, "tls": True}]}


def parse(spec: Mapping[str, Any] | None = None) -> ClusterSpec:
    return parse_cluster(
        "events",
        "streaming",
        {"brokers": {"replicas": 3}, **TLS_LISTENER, "clusterCa": ISSUER, **(spec or {})},
    )


def issued_by(
    authority: Authority, spec: ClusterSpec, **options: Any
) -> dict[str, dict[str, bytes]]:
    """Every Secret cert-manager would issue for `spec`, from `authority`."""
    found = {}
    for key, dns_names in wanted_files(spec).items():
        name = names.issued_certificate_name(key.removesuffix(".pem"))
        found[name] = issued_secret(authority, dns_names, **options)
    if spec.internal_tls:
        holder = names.operator_certificate_holder(spec.name)
        found[names.issued_certificate_name(holder)] = issued_secret(authority, (), **options)
    return found


def keep(
    spec: ClusterSpec,
    issued: Mapping[str, Mapping[str, bytes]],
    *,
    before: Certificates | None = None,
    pods_trust: tuple[frozenset[str], ...] = (),
    now: datetime.datetime = NOW,
) -> Certificates:
    return keep_certificates(
        spec,
        ca_data=None,
        broker_files=before.brokers if before else {},
        revision=before.revision if before else None,
        now=now,
        operator_files=(before.operator or {}) if before else {},
        pods_trust=pods_trust,
        issued=issued,
    )


def leaf(bundle: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificates(bundle)[0]


def test_a_certificate_per_broker_from_the_users_issuer_with_the_brokers_names() -> None:
    spec = parse()
    rendered = cert_manager.certificates(spec)
    assert [c["metadata"]["name"] for c in rendered] == [
        f"events-brokers-{ordinal}-cert" for ordinal in range(3)
    ]
    first = rendered[0]
    assert first["apiVersion"] == "cert-manager.io/v1"
    assert first["spec"]["secretName"] == "events-brokers-0-cert"
    assert first["spec"]["dnsNames"] == list(
        names.broker_dns_names("events", "streaming", names.Role.BROKER, 0)
    )
    assert first["spec"]["issuerRef"] == {
        "name": "company-ca",
        "kind": "Issuer",
        "group": "cert-manager.io",
    }
    # Kafka reads only PKCS#8 keys; the lifetime is spec.brokerCertificates'.
    assert first["spec"]["privateKey"]["encoding"] == "PKCS8"
    assert first["spec"]["duration"] == f"{schema.DEFAULT_CERTIFICATE_VALIDITY_DAYS * 24}h"
    assert first["spec"]["renewBefore"] == f"{schema.DEFAULT_RENEWAL_DAYS * 24}h"
    assert "server auth" in first["spec"]["usages"]
    labels = first["spec"]["secretTemplate"]["labels"]
    assert labels["kopfka.dev/cluster"] == "events"


def test_with_internal_tls_every_node_and_the_operator_get_a_certificate() -> None:
    spec = parse({"internalListeners": {"tls": True}})
    rendered = {c["metadata"]["name"]: c["spec"] for c in cert_manager.certificates(spec)}
    assert set(rendered) == {f"events-controllers-{i}-cert" for i in range(3)} | {
        f"events-brokers-{i}-cert" for i in range(3)
    } | {"events-operator-cert"}
    operator = rendered["events-operator-cert"]
    assert operator["commonName"] == names.OPERATOR_COMMON_NAME
    assert operator["usages"] == ["digital signature", "client auth"]
    assert "dnsNames" not in operator


def test_no_certificates_without_tls_or_without_cert_manager() -> None:
    assert cert_manager.certificates(parse({"listeners": [{"name": "plain", "port": 9092}]})) == []
    own = parse_cluster("events", "streaming", {"brokers": {"replicas": 3}, **TLS_LISTENER})
    assert cert_manager.certificates(own) == []


def test_a_ca_secret_and_cert_manager_together_are_refused() -> None:
    both = {"clusterCa": {"secretName": "mine", **ISSUER}}
    with pytest.raises(SpecError, match="secretName and certManager cannot both be set"):
        parse(both)


def test_issued_certificates_become_the_nodes_files_with_a_pkcs8_key_and_the_ca_trusted() -> None:
    authority = new_authority("company CA", now=NOW, validity_days=365)
    spec = parse()
    kept = keep(spec, issued_by(authority, spec))
    assert kept.ca_key is None
    assert fingerprints(kept.trusted) == fingerprints(authority.certificate_pem)
    for key, dns_names in wanted_files(spec).items():
        bundle = kept.brokers[key]
        assert bundle.startswith(b"-----BEGIN PRIVATE KEY-----")  # PKCS#8, as Kafka reads it
        leaf(bundle).verify_directly_issued_by(authority.certificate)
        sans = leaf(bundle).extensions.get_extension_for_class(x509.SubjectAlternativeName)
        assert sorted(sans.value.get_values_for_type(x509.DNSName)) == sorted(dns_names)
        # The chain Kafka presents: the certificate, then its CA's.
        assert x509.load_pem_x509_certificates(bundle)[1] == authority.certificate
    # A second reconcile with nothing new changes nothing, the revision included.
    issued = issued_by(authority, spec)
    first = keep(spec, issued)
    second = keep(spec, issued, before=first)
    assert second.brokers == first.brokers
    assert second.revision == first.revision


def test_a_node_without_a_usable_certificate_holds_the_reconcile_and_says_which() -> None:
    authority = new_authority("company CA", now=NOW, validity_days=365)
    spec = parse()
    issued = issued_by(authority, spec)
    del issued["events-brokers-1-cert"]
    with pytest.raises(CertificatesPending, match="events-brokers-1-cert: not issued yet"):
        keep(spec, issued)
    # Issued for other names (cert-manager has not caught up with a changed Certificate yet).
    issued["events-brokers-1-cert"] = issued_secret(authority, ["elsewhere.example"])
    with pytest.raises(CertificatesPending, match="its DNS names changed"):
        keep(spec, issued)


def test_an_issuer_that_writes_no_ca_crt_is_named_as_the_problem() -> None:
    authority = new_authority("company CA", now=NOW, validity_days=365)
    spec = parse()
    issued = issued_by(authority, spec)
    for data in issued.values():
        del data["ca.crt"]
    with pytest.raises(CertificatesPending, match=r"has no ca\.crt"):
        keep(spec, issued)


def test_a_node_keeps_its_file_while_cert_manager_issues_it_again() -> None:
    authority = new_authority("company CA", now=NOW, validity_days=365)
    spec = parse()
    issued = issued_by(authority, spec)
    kept = keep(spec, issued)
    del issued["events-brokers-2-cert"]  # the Secret deleted: cert-manager issues it again
    later = keep(spec, issued, before=kept)
    assert later.brokers == kept.brokers
    assert later.revision == kept.revision


def test_a_renewal_replaces_the_file_and_restarts_the_brokers() -> None:
    authority = new_authority("company CA", now=NOW, validity_days=365)
    spec = parse()
    issued = issued_by(authority, spec)
    kept = keep(spec, issued)
    renewed = dict(issued)
    dns_names = wanted_files(spec)["events-brokers-0.pem"]
    renewed["events-brokers-0-cert"] = issued_secret(authority, dns_names)
    later = keep(spec, renewed, before=kept)
    assert leaf(later.brokers["events-brokers-0.pem"]) != leaf(kept.brokers["events-brokers-0.pem"])
    assert later.brokers["events-brokers-1.pem"] == kept.brokers["events-brokers-1.pem"]
    assert later.revision != kept.revision


def test_an_intermediate_ca_is_presented_with_the_certificate_and_its_root_trusted() -> None:
    intermediate, root = intermediate_authority("company issuing CA")
    spec = parse()
    chain = (intermediate.certificate_pem,)
    kept = keep(spec, issued_by(intermediate, spec, chain=chain, root=root))
    bundle = kept.brokers["events-brokers-0.pem"]
    presented = x509.load_pem_x509_certificates(bundle)
    assert presented[1] == intermediate.certificate
    assert len(presented) == 2
    # Clients (and the operator's TLS, which needs a root) trust both.
    assert set(fingerprints(kept.trusted)) == {
        *fingerprints(intermediate.certificate_pem),
        *fingerprints(root),
    }


def test_with_internal_tls_a_new_ca_is_trusted_by_every_pod_before_a_node_presents_it() -> None:
    old = new_authority("company CA 1", now=NOW, validity_days=365)
    new = new_authority("company CA 2", now=NOW, validity_days=365)
    spec = parse({"internalListeners": {"tls": True}})
    kept = keep(spec, issued_by(old, spec))
    assert kept.operator is not None
    trusting_old = tuple(frozenset(fingerprints(kept.node_trust)) for _ in range(6))

    # cert-manager issued every certificate anew from another CA (the issuer was changed).
    step_one = keep(spec, issued_by(new, spec), before=kept, pods_trust=trusting_old)
    for key in wanted_files(spec):
        assert step_one.brokers[key] == kept.brokers[key]  # not yet: a pod would refuse it
    assert step_one.operator is not None
    assert step_one.operator[names.OPERATOR_KEY_STORE] == kept.operator[names.OPERATOR_KEY_STORE]
    assert set(fingerprints(step_one.node_trust)) == {
        *fingerprints(old.certificate_pem),
        *fingerprints(new.certificate_pem),
    }
    assert step_one.revision != kept.revision  # the nodes restart to trust the new CA

    # Every pod restarted and trusts both: the nodes take the new certificates.
    trusting_both = tuple(frozenset(fingerprints(step_one.node_trust)) for _ in range(6))
    step_two = keep(spec, issued_by(new, spec), before=step_one, pods_trust=trusting_both)
    for key in wanted_files(spec):
        leaf(step_two.brokers[key]).verify_directly_issued_by(new.certificate)
    assert step_two.revision != step_one.revision
    # The old CA stays trusted until it expires: a node still on it is never refused.
    assert set(fingerprints(step_two.node_trust)) == set(fingerprints(step_one.node_trust))
