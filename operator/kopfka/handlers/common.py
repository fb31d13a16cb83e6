"""What every handler shares: the clock, object keys and the API client kept in kopf's memo."""

from __future__ import annotations

import datetime
import os
from collections.abc import Mapping, Sequence
from typing import Any

import kopf

from kopfka.k8s.client import Kube
from kopfka.model.kubernetes_names import label_problems
from kopfka.render.network_policy import OperatorPods
from kopfka.render.operator_job import JobImage

# (namespace, name): what identifies a KafkaCluster or a KafkaTopic.
Key = tuple[str, str]


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def interval_from_env(variable: str, default: float) -> float:
    """A periodic interval in seconds from the environment (tests shorten them), else `default`."""
    raw = os.environ.get(variable)
    if raw is None or raw == "":
        return default
    value = float(raw)
    if value <= 0:
        raise ValueError(f"{variable} must be a positive number of seconds, not {raw!r}")
    return value


def job_image() -> JobImage | None:
    """The operator's own image, which its topic and rebalance Jobs run (the chart sets it)."""
    image = os.environ.get("KOPFKA_JOB_IMAGE")
    if not image:
        return None
    return JobImage(image, os.environ.get("KOPFKA_JOB_IMAGE_PULL_POLICY") or "IfNotPresent")


def operator_pods() -> OperatorPods | None:
    """The operator's own pods, which a cluster's NetworkPolicy lets reach Kafka: their namespace
    (KOPFKA_OPERATOR_NAMESPACE) and labels that select them (KOPFKA_OPERATOR_POD_LABELS, as
    `key=value,key=value`); the chart sets both. None when either is unset (an operator run
    outside the Kubernetes cluster). Raises ValueError for labels that are not such a list."""
    namespace = os.environ.get("KOPFKA_OPERATOR_NAMESPACE")
    text = os.environ.get("KOPFKA_OPERATOR_POD_LABELS")
    if not namespace or not text:
        return None
    labels: dict[str, str] = {}
    for item in text.split(","):
        key, equals, value = item.strip().partition("=")
        if not equals or key in labels:
            raise ValueError(
                f"KOPFKA_OPERATOR_POD_LABELS must be key=value pairs, each key once, "
                f"separated by commas, not {text!r}"
            )
        labels[key] = value
    problems = label_problems(labels, "KOPFKA_OPERATOR_POD_LABELS")
    if problems:
        raise ValueError("; ".join(problems))
    return OperatorPods(namespace, labels)


def indexed(index: kopf.Index[Key, Any]) -> list[Any]:
    """Every object a kopf index holds. For readers on other threads (a metrics scrape): the
    index changes under them, so a read that meets a change is simply made again."""
    for _ in range(3):
        try:
            return [body for key in list(index) for body in list(index.get(key, ()))]
        except RuntimeError:  # changed while read
            continue
    return [body for key in list(index) for body in list(index.get(key, ()))]


def kube_of(memo: kopf.Memo) -> Kube:
    kube: Any = memo["kube"]
    assert isinstance(kube, Kube)
    return kube


def key_of(body: Mapping[str, Any]) -> Key:
    return body["metadata"]["namespace"], body["metadata"]["name"]


def watched_namespaces(memo: kopf.Memo) -> Sequence[str] | None:
    """The namespaces the operator serves (`kopfka run --namespace`, put in kopf's memo by
    cli.py); None: every namespace."""
    namespaces = memo.get("namespaces")
    return list(namespaces) if namespaces else None
