"""TLS material for tests: what certs/keep.py issues for a new cluster, on a fixed clock."""

from __future__ import annotations

import datetime

from kopfka.certs.issue import Authority
from kopfka.certs.keep import keep_certificates
from kopfka.certs.kept import Certificates
from kopfka.model.cluster import ClusterSpec

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)


def new_certificates(spec: ClusterSpec, *, now: datetime.datetime = NOW) -> Certificates | None:
    """A new cluster's CA and node certificates; None when it needs none (no TLS listener)."""
    if not spec.needs_certificates:
        return None
    return keep_certificates(spec, ca_data=None, broker_files={}, revision=None, now=now)


def ca_secret_data(authority: Authority) -> dict[str, bytes]:
    """A user's CA Secret as keep_certificates reads it (decoded): the CA's certificate and key."""
    return {"ca.crt": authority.certificate_pem, "ca.key": authority.key_pem}
