"""What every handler shares: the clock and the API client kept in kopf's memo."""

from __future__ import annotations

import datetime
from typing import Any

import kopf

from kopfka.k8s.client import Kube


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kube_of(memo: kopf.Memo) -> Kube:
    kube: Any = memo["kube"]
    assert isinstance(kube, Kube)
    return kube
