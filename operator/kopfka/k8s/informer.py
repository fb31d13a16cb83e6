"""A list-then-watch cache of one custom resource kind, grouped by a key, for kinds with too many
objects for kopf's per-object machinery.

kopf gives every object it watches a worker task, a memory and a logger, and while it fills its
indexes at startup each new object wakes every waiting worker: with 10,000 KafkaTopics an operator
restart spent minutes of CPU before its first sync, and the workers held every body meanwhile. This
cache keeps one small snapshot per object (what `keep` returns), grouped by `group`, fed by one
thread per watched namespace (or one for the whole cluster) that lists the kind in pages and then
watches it from the list's resourceVersion, the way Kubernetes' own informers do. `synced` is set
once every namespace has been listed, so a reader can tell a complete picture from a partial one.

A watch that the API server ends (its timeout, a restart) resumes from the last resourceVersion
seen; one that is too old (410 Gone) lists again, and the objects gone meanwhile are reported as
deleted. `on_event` is called on the watching thread, for every change, with the kept snapshot.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from http import HTTPStatus
from typing import Any, Generic, TypeVar

from kopfka.k8s.rest import ApiError as RestError
from kopfka.k8s.rest import RestClient, lines

logger = logging.getLogger(__name__)

Obj = dict[str, Any]
OnEvent = Callable[[str, Obj], None]
K = TypeVar("K", bound=Hashable)

PAGE_SIZE = 500
# The API server ends a watch after this long; the client gives up reading a little later.
WATCH_SECONDS = 300
READ_TIMEOUT_SECONDS = WATCH_SECONDS + 30
RETRY_MIN_SECONDS = 1.0
RETRY_MAX_SECONDS = 30.0


class Gone(Exception):
    """The resourceVersion a list or watch continued from is too old (HTTP 410)."""


class ApiError(Exception):
    """The API server answered a list or watch with an error."""


class Informer(Generic[K]):
    """A cache of the objects of `plural` in API `group`/`version` ("" for the core group) in
    `namespaces` (None: every namespace) that match `label_selector` (the API server filters),
    as `keep` snapshots them, grouped by `key`."""

    def __init__(
        self,
        api_client: RestClient,
        *,
        group: str,
        version: str,
        plural: str,
        namespaces: Sequence[str] | None,
        keep: Callable[[Obj], Obj],
        key: Callable[[Obj], K],
        on_event: OnEvent,
        name: str,
        label_selector: str = "",
    ) -> None:
        self._api = api_client
        self._api_path = f"/apis/{group}/{version}" if group else f"/api/{version}"
        self._selector = [("labelSelector", label_selector)] if label_selector else []
        self._plural = plural
        self._namespaces: list[str | None] = list(namespaces) if namespaces else [None]
        self._keep = keep
        self._key = key
        self._on_event = on_event
        self._name = name
        self._lock = threading.Lock()
        self._objects: dict[str, Obj] = {}  # by uid
        self._groups: dict[K, dict[str, Obj]] = {}
        self._listed: set[str | None] = set()
        self.synced = threading.Event()
        self._stopping = threading.Event()
        self._responses: set[Any] = set()
        self._threads: list[threading.Thread] = []

    # Reading the cache (any thread).

    def get(self, key: K) -> list[Obj]:
        with self._lock:
            return list(self._groups.get(key, {}).values())

    def groups(self) -> list[K]:
        with self._lock:
            return list(self._groups)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._groups

    def all(self) -> list[Obj]:
        with self._lock:
            return list(self._objects.values())

    # Running.

    def start(self) -> None:
        for namespace in self._namespaces:
            thread = threading.Thread(
                target=self._run,
                args=(namespace,),
                name=f"{self._name}-{namespace or 'all'}",
                daemon=True,
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        with self._lock:
            responses = list(self._responses)
        for response in responses:
            # Unblocks a read in progress on the watching thread (or it was closed already).
            with contextlib.suppress(Exception):
                response.shutdown()
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, namespace: str | None) -> None:
        delay = RETRY_MIN_SECONDS
        version: str | None = None
        while not self._stopping.is_set():
            try:
                if version is None:
                    version = self._list(namespace)
                version = self._watch(namespace, version)
                delay = RETRY_MIN_SECONDS
            except Gone:
                version = None  # list again; no wait: the API server answered
            except Exception as error:  # any failure: wait, then go on
                if self._stopping.is_set():
                    return
                logger.warning(
                    "%s in %s: %s; trying again in %.0f s",
                    self._name,
                    namespace or "every namespace",
                    error,
                    delay,
                )
                self._stopping.wait(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    def _collection(self, namespace: str | None) -> str:
        where = f"/namespaces/{namespace}" if namespace else ""
        return f"{self._api_path}{where}/{self._plural}"

    def _request(self, path: str, query: list[tuple[str, str]], *, read_timeout: float) -> Any:
        """The response, unread (a list reads it whole, a watch line by line)."""
        try:
            return self._api.stream(path, query=query, read_timeout=read_timeout)
        except RestError as error:
            if error.status == HTTPStatus.GONE:
                raise Gone() from error
            raise ApiError(f"GET {path}: HTTP {error.status}: {error.summary()[:500]}") from error

    def _list(self, namespace: str | None) -> str:
        """Lists every object in pages, replaces the namespace's part of the cache with them
        (reporting what changed), and returns the list's resourceVersion."""
        found: dict[str, Obj] = {}
        token = ""
        while True:
            query = [("limit", str(PAGE_SIZE)), *self._selector]
            query += [("continue", token)] if token else []
            response = self._request(
                self._collection(namespace), query, read_timeout=READ_TIMEOUT_SECONDS
            )
            try:
                page = json.loads(response.data)
            finally:
                response.release_conn()
            for item in page.get("items") or ():
                kept = self._keep(item)
                found[kept["metadata"]["uid"]] = kept
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                break
        with self._lock:
            before = {
                uid: obj
                for uid, obj in self._objects.items()
                if namespace is None or obj["metadata"].get("namespace") == namespace
            }
        for uid, obj in before.items():
            if uid not in found:
                self._apply("DELETED", obj)
        for uid, obj in found.items():
            old = before.get(uid)
            if old is None:
                self._apply("ADDED", obj)
            elif old["metadata"].get("resourceVersion") != obj["metadata"].get("resourceVersion"):
                self._apply("MODIFIED", obj)
        version = str((page.get("metadata") or {}).get("resourceVersion") or "")
        with self._lock:
            self._listed.add(namespace)
            if len(self._listed) == len(self._namespaces):
                self.synced.set()
        return version

    def _watch(self, namespace: str | None, version: str) -> str:
        """Follows changes from `version` until the API server ends the watch; returns the last
        resourceVersion seen."""
        query = [
            *self._selector,
            ("watch", "true"),
            ("resourceVersion", version),
            ("allowWatchBookmarks", "true"),
            ("timeoutSeconds", str(WATCH_SECONDS)),
        ]
        response = self._request(
            self._collection(namespace), query, read_timeout=READ_TIMEOUT_SECONDS
        )
        with self._lock:
            self._responses.add(response)
        try:
            for line in lines(response):
                if self._stopping.is_set():
                    break
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise Gone()
                    raise ApiError(f"watch {self._collection(namespace)}: {obj.get('message')}")
                version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                if kind in {"ADDED", "MODIFIED", "DELETED"}:
                    self._apply(kind, self._keep(obj))
        finally:
            with self._lock:
                self._responses.discard(response)
            response.release_conn()
        return version

    def _apply(self, kind: str, obj: Obj) -> None:
        uid = obj["metadata"]["uid"]
        key = self._key(obj)
        with self._lock:
            old = self._objects.pop(uid, None)
            if old is not None:
                old_key = self._key(old)
                group = self._groups.get(old_key)
                if group is not None:
                    group.pop(uid, None)
                    if not group:
                        del self._groups[old_key]
            if kind != "DELETED":
                self._objects[uid] = obj
                self._groups.setdefault(key, {})[uid] = obj
        try:
            self._on_event(kind, obj)
        except Exception:
            logger.exception("%s: handling a %s event failed", self._name, kind)
