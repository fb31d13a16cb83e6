"""Consumer lag of every KafkaCluster's consumer groups, read by the operator and served on its
metrics port as `kafka_consumergroup_lag` (docs/monitoring.md, "Consumer lag").

kopfka reads it itself instead of running an exporter next to each cluster (kafka_exporter,
Burrow): no image, Deployment or Kafka credentials more per cluster, only the admin client the
operator already has. Every `KOPFKA_LAG_INTERVAL` seconds (30 by default; 0 turns it off), each
KafkaCluster the operator watches is read at its own phase of the interval (`periodic`), on two
threads of its own, so that a Kafka that does not answer never holds up a reconcile. A cluster
that is paused, has not started, or cannot be read has no series: a value kept from an earlier
read would look like a lag that holds. With leader election, only the replica that holds the
Lease runs handlers, so standbys never read Kafka.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any

import kopf

from kopfka import metrics
from kopfka.handlers import periodic
from kopfka.handlers.common import indexed, interval_from_env, key_of, kube_of
from kopfka.identity import ensure_identity
from kopfka.kafka.admin import Connect, KafkaUnavailable, operator_client, unreachable
from kopfka.model import names
from kopfka.model.cluster import internal_tls_of, operator_bootstrap_of

logger = logging.getLogger(__name__)

INTERVAL_VARIABLE = "KOPFKA_LAG_INTERVAL"
DEFAULT_INTERVAL_SECONDS = 30.0
# Threads reading lag: each read is a few requests answered from the brokers' memory.
WORKERS = 2


def lag_interval() -> float | None:
    """Seconds between two reads of each cluster's lag, or None when KOPFKA_LAG_INTERVAL is 0."""
    raw = os.environ.get(INTERVAL_VARIABLE, "").strip()
    try:
        off = bool(raw) and float(raw) == 0
    except ValueError:
        raise ValueError(f"{INTERVAL_VARIABLE} must be a number of seconds, not {raw!r}") from None
    if off:
        return None
    return interval_from_env(INTERVAL_VARIABLE, DEFAULT_INTERVAL_SECONDS)


INTERVAL_SECONDS = lag_interval()


def collect_cluster(
    namespace: str, name: str, bootstrap: str, *, connect: Connect = operator_client
) -> bool:
    """Read the lag of a cluster's consumer groups and put it in place of the cluster's series;
    False, with the cluster's series removed, when Kafka could not be read."""
    if unreachable.recently(bootstrap):
        metrics.consumer_lag(namespace, name, None)
        return False
    try:
        admin = connect(bootstrap)
    except KafkaUnavailable as error:
        logger.info("consumer lag of %s/%s: Kafka cannot be reached: %s", namespace, name, error)
        unreachable.mark(bootstrap, reachable=False)
        metrics.consumer_lag(namespace, name, None)
        return False
    try:
        lags = admin.consumer_lag()
    except KafkaUnavailable as error:
        # Kafka answered, then a request failed (a broker restarting, a coordinator moving): not
        # marked unreachable, which would hold up the other reads of Kafka (a roll's) meanwhile.
        logger.info("consumer lag of %s/%s: Kafka cannot be read: %s", namespace, name, error)
        metrics.consumer_lag(namespace, name, None)
        return False
    except Exception:  # Kafka refused a request, or a bug: say so; the next interval tries again
        logger.exception("consumer lag of %s/%s could not be read", namespace, name)
        metrics.consumer_lag(namespace, name, None)
        return False
    finally:
        admin.close()
    unreachable.mark(bootstrap, reachable=True)
    metrics.consumer_lag(
        namespace, name, {(lag.group, lag.topic, lag.partition): lag.lag for lag in lags}
    )
    return True


def _collect(memo: kopf.Memo, body: periodic.Obj) -> None:
    namespace, name = key_of(body)
    status = body.get("status") or {}
    if names.is_paused(body) or not status.get("clusterId") or not status.get("bootstrapServers"):
        metrics.consumer_lag(namespace, name, None)
        return
    spec = body.get("spec") or {}
    # Not status.bootstrapServers: that is the clients' first listener, which may have TLS.
    bootstrap = operator_bootstrap_of(name, namespace, spec)
    try:
        ensure_identity(
            kube_of(memo),
            namespace=namespace,
            cluster=name,
            bootstrap=bootstrap,
            internal_tls=internal_tls_of(spec),
        )
    except KafkaUnavailable as error:
        logger.info("consumer lag of %s/%s: %s", namespace, name, error)
        metrics.consumer_lag(namespace, name, None)
        return
    collect_cluster(namespace, name, bootstrap)


@kopf.on.startup()
async def start_lag_collection(memo: kopf.Memo, **kwargs: Any) -> None:
    if INTERVAL_SECONDS is None:
        logger.info("consumer lag is not collected (%s=0)", INTERVAL_VARIABLE)
        return
    # kopf passes each index as a keyword argument named after it (handlers/cluster.py's).
    index = kwargs["kafka_clusters"]
    metrics.watch_consumer_lag_clusters(lambda: [key_of(body) for body in indexed(index)])
    periodic.start(
        what="consumer lag",
        index=index,
        interval=INTERVAL_SECONDS,
        work=functools.partial(_collect, memo),
        workers=WORKERS,
    )
