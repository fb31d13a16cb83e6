"""Leader election on a coordination.k8s.io Lease: a standby replica waits, then takes over.

Two replicas of the operator must never reconcile at once: kopf has no per-object locks, and its
own peering pauses every replica of the same priority, so it cannot make a standby. The active
replica holds a Lease and renews it every `retry_period`. A standby reads the Lease as often and
takes it (a write guarded by resourceVersion, so only one of several standbys wins) when the
record has not changed for `duration` by the standby's own clock, counted from when it last saw a
change: clocks of different nodes never need to agree. A holder that could not renew for
`renew_deadline` (shorter than `duration`) gives up before anyone may take over, and the process
exits so that its pod restarts as a standby. A holder that stops gracefully hands the Lease back,
and a standby takes over at its next read.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kopfka.k8s.client import Conflict, Kube, Obj

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseSettings:
    name: str
    namespace: str
    identity: str
    duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.retry_period < self.renew_deadline < self.duration:
            raise ValueError("lease timings must satisfy 0 < retry < renew deadline < duration")


def _micro_time(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Acquire (blocking), keep renewing in a thread, and release a Lease for one identity."""

    def __init__(
        self,
        kube: Kube,
        settings: LeaseSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._kube = kube
        self._settings = settings
        self._clock = clock
        # The last record seen (its resourceVersion) and when, by our clock.
        self._seen: str | None = None
        self._seen_at = 0.0
        self._stop = threading.Event()

    def acquire(self) -> None:
        """Return once this identity holds the Lease."""
        waiting_logged = False
        while not self._try_acquire_or_renew():
            if not waiting_logged:
                logger.info(
                    "standing by: Lease %s/%s is held by another replica",
                    self._settings.namespace,
                    self._settings.name,
                )
                waiting_logged = True
            self._stop.wait(self._settings.retry_period)
        logger.info(
            "leading: holding Lease %s/%s as %s",
            self._settings.namespace,
            self._settings.name,
            self._settings.identity,
        )

    def keep(self, on_lost: Callable[[], None]) -> threading.Thread:
        """Renew in a daemon thread; call `on_lost` once renewing failed for the renew deadline."""

        def renew() -> None:
            last_renewed = self._clock()
            while not self._stop.wait(self._settings.retry_period):
                try:
                    renewed = self._try_acquire_or_renew()
                except Exception:  # any failure to reach the API counts as a failed renewal
                    logger.exception("renewing Lease %s failed", self._settings.name)
                    renewed = False
                if renewed:
                    last_renewed = self._clock()
                elif self._clock() - last_renewed >= self._settings.renew_deadline:
                    logger.error(
                        "lost Lease %s/%s: could not renew it for %.0f s",
                        self._settings.namespace,
                        self._settings.name,
                        self._settings.renew_deadline,
                    )
                    on_lost()
                    return

        thread = threading.Thread(target=renew, name="lease-renewal", daemon=True)
        thread.start()
        return thread

    def release(self) -> None:
        """Stop renewing and hand the Lease back, so a standby need not wait for it to expire."""
        self._stop.set()
        try:
            lease = self._read()
            if lease is None or lease["spec"].get("holderIdentity") != self._settings.identity:
                return
            lease["spec"]["holderIdentity"] = None
            self._kube.replace(lease)
            logger.info("released Lease %s/%s", self._settings.namespace, self._settings.name)
        except Exception as error:  # the Lease then expires on its own
            logger.warning("could not release Lease %s: %s", self._settings.name, error)

    def _read(self) -> Obj | None:
        lease = self._kube.get(
            "coordination.k8s.io/v1", "Lease", self._settings.name, self._settings.namespace
        )
        if lease is not None:
            lease["spec"] = lease.get("spec") or {}
        return lease

    def _try_acquire_or_renew(self) -> bool:
        settings = self._settings
        now = datetime.datetime.now(datetime.UTC)
        lease = self._read()
        if lease is None:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": settings.name, "namespace": settings.namespace},
                "spec": self._spec(now, acquired=now, transitions=0),
            }
            try:
                written = self._kube.create(body)
            except Conflict:  # another replica made it first
                return False
        else:
            version = lease["metadata"]["resourceVersion"]
            if version != self._seen:
                self._seen, self._seen_at = version, self._clock()
            spec = lease["spec"]
            holder = spec.get("holderIdentity")
            ours = holder == settings.identity
            if holder and not ours and self._clock() - self._seen_at < settings.duration:
                return False
            transitions = int(spec.get("leaseTransitions") or 0) + (0 if ours else 1)
            acquired = spec.get("acquireTime") if ours else None
            lease["spec"] = self._spec(now, acquired=acquired or now, transitions=transitions)
            try:
                written = self._kube.replace(lease)
            except Conflict:  # someone wrote it since we read it
                return False
        self._seen, self._seen_at = written["metadata"]["resourceVersion"], self._clock()
        return True

    def _spec(
        self, now: datetime.datetime, *, acquired: datetime.datetime | str, transitions: int
    ) -> dict[str, Any]:
        return {
            "holderIdentity": self._settings.identity,
            "leaseDurationSeconds": round(self._settings.duration),
            "acquireTime": acquired if isinstance(acquired, str) else _micro_time(acquired),
            "renewTime": _micro_time(now),
            "leaseTransitions": transitions,
        }
