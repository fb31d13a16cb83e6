"""The operator's identity for a cluster with TLS on its internal listeners, loaded from the
cluster's operator Secret by the work that reads Kafka outside the cluster's reconcile: the topic
and user syncs and the consumer lag.

The reconcile hands each cluster's identity to the registry in kafka/tls.py at every run. Until
it has run once in this operator process, as just after a start (the topic syncs begin before
kopf resumes the clusters), the registry holds none, and a read would go out in plaintext, fail,
and mark every KafkaTopic of the cluster unreachable. So each such reader calls `ensure_identity`
first: one GET of the Secret, and only while the registry holds no identity for the cluster.
"""

from __future__ import annotations

import ssl

from kopfka.k8s.client import Kube
from kopfka.kafka.admin import KafkaUnavailable
from kopfka.kafka.tls import identities
from kopfka.model import names
from kopfka.render.tls import decoded


def ensure_identity(
    kube: Kube, *, namespace: str, cluster: str, bootstrap: str, internal_tls: bool
) -> None:
    """The operator's identity for the KafkaCluster `namespace`/`cluster`, which it reaches at
    `bootstrap` (its operator_bootstrap), in the registry, read from its Secret if missing;
    nothing when its internal listeners are plaintext. Raises KafkaUnavailable, which the
    readers report as they report an unreachable Kafka, when the Secret holds no usable
    identity."""
    if not internal_tls or identities.context(bootstrap) is not None:
        return
    secret_name = names.operator_tls_secret_name(cluster)
    secret = kube.get("v1", "Secret", secret_name, namespace)
    files = decoded(secret)
    missing = [key for key in (names.OPERATOR_KEY_STORE, names.OPERATOR_TRUST) if key not in files]
    if missing:
        problem = "does not exist" if secret is None else f"lacks {', '.join(missing)}"
        raise KafkaUnavailable(
            f"the operator has no certificate for the internal listeners yet (Secret "
            f"{secret_name} {problem}); the KafkaCluster's reconcile issues it"
        )
    try:
        identities.keep(bootstrap, files)
    except (ssl.SSLError, ValueError) as error:
        raise KafkaUnavailable(
            f"the operator's certificate in Secret {secret_name} cannot be used ({error}); the "
            "KafkaCluster's reconcile issues it again"
        ) from error
