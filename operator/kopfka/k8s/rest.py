"""A small synchronous HTTP transport to the Kubernetes API, on urllib3.

kopfka used the Kubernetes Python client for a dozen kinds of request; importing it cost about
20 MiB of the operator's resident memory and 118 MiB of its image. This module sends those
requests itself: JSON in and out, a bearer token or a client certificate (k8s/connection.py),
one pool of keep-alive connections shared by every thread, and one exception for every answer
that is not a success (`ApiError`, with the HTTP status and the API server's own message).

Thread-safe: urllib3's pool hands each request a connection of its own, and the token is read
under a lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import urllib3

from kopfka import __version__
from kopfka.k8s import connection as connection_module
from kopfka.k8s.connection import Connection

USER_AGENT = f"kopfka/{__version__}"
CONNECT_TIMEOUT_SECONDS = 10.0
# The API server ends a request after 60 s by default (--request-timeout); a little more here.
READ_TIMEOUT_SECONDS = 75.0
# Every thread that may call the API at once: kopf's executor for sync handlers (16,
# handlers/settings.py), cluster refreshes (8), the periodic runs (4) and lag readers (2), topic
# syncs (4) and their status writers (8). More threads than this still get a connection, which is
# then not kept.
POOL_SIZE = 50

Query = Sequence[tuple[str, str]]


class ApiError(Exception):
    """The API server answered with an error status."""

    def __init__(self, *, method: str, path: str, status: int, reason: str, message: str) -> None:
        super().__init__(f"{method} {path}: {status} {reason}: {message}")
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.message = message

    def summary(self) -> str:
        """What people should read: the API server's own message (a Status' message), else the
        response's body, else the status and its reason."""
        return self.message or f"{self.status} Reason: {self.reason}"

    @property
    def not_found(self) -> bool:
        return self.status == HTTPStatus.NOT_FOUND

    @property
    def conflict(self) -> bool:
        return self.status == HTTPStatus.CONFLICT


class RestClient:
    """Requests to one API server as one identity."""

    def __init__(
        self,
        connection: Connection,
        *,
        user_agent: str = USER_AGENT,
        pool_size: int = POOL_SIZE,
    ) -> None:
        self.connection = connection
        self.user_agent = user_agent
        options: dict[str, Any] = {}
        if connection.server.startswith("https:"):
            options["ssl_context"] = _ssl_context(connection)
            if connection.insecure:
                options["cert_reqs"] = ssl.CERT_NONE
                options["assert_hostname"] = False
        self._pool = urllib3.PoolManager(
            num_pools=1,
            maxsize=pool_size,
            block=False,
            # urllib3's default retries, as the Kubernetes client had them: a request that could
            # not be sent (a kept connection the server had closed) is sent again, and an
            # idempotent one (GET, PUT, DELETE) also after a failed read. Never on a status.
            retries=urllib3.Retry(total=3, redirect=False),
            timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=READ_TIMEOUT_SECONDS),
            **options,
        )

    @classmethod
    def from_environment(cls, *, user_agent: str = USER_AGENT) -> RestClient:
        return cls(connection_module.from_environment(), user_agent=user_agent)

    @classmethod
    def from_kubeconfig(cls, path: Path, *, user_agent: str = USER_AGENT) -> RestClient:
        return cls(connection_module.from_kubeconfig(path), user_agent=user_agent)

    def close(self) -> None:
        self._pool.clear()

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> Any:
        """Send one request; the decoded JSON answer (None if it had no body)."""
        return self.exchange(method, path, query=query, body=body, content_type=content_type)[1]

    def exchange(
        self,
        method: str,
        path: str,
        *,
        query: Query = (),
        body: Any = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:
        """`request`, with the answer's status: a server-side apply answers 201 when it made the
        object and 200 when the object was there."""
        status, data = self._send(method, path, query=query, body=body, content_type=content_type)
        return status, json.loads(data) if data.strip() else None

    def request_text(self, method: str, path: str, *, query: Query = ()) -> str:
        """Send one request whose answer is text (a pod's log)."""
        return self._send(method, path, query=query, accept="*/*")[1].decode("utf-8", "replace")

    def stream(self, path: str, *, query: Query = (), read_timeout: float) -> Any:
        """GET `path` and return the urllib3 response unread, to read as it arrives (a watch);
        the caller releases it (`release_conn`). An error status raises ApiError."""
        response = self._open("GET", path, query=query, read_timeout=read_timeout, stream=True)
        if response.status >= 300:
            try:
                raise _error("GET", path, response.status, response.reason, response.read())
            finally:
                response.release_conn()
        return response

    def _send(
        self,
        method: str,
        path: str,
        *,
        query: Query,
        body: Any = None,
        content_type: str = "application/json",
        accept: str = "application/json",
    ) -> tuple[int, bytes]:
        payload = None if body is None else json.dumps(body).encode()
        response = self._open(
            method,
            path,
            query=query,
            payload=payload,
            content_type=content_type,
            accept=accept,
            read_timeout=READ_TIMEOUT_SECONDS,
        )
        if response.status >= 300:
            raise _error(method, path, response.status, response.reason, response.data)
        return int(response.status), bytes(response.data)

    def _open(
        self,
        method: str,
        path: str,
        *,
        query: Query,
        read_timeout: float,
        payload: bytes | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        stream: bool = False,
    ) -> Any:
        url = self.connection.server + path + (f"?{urlencode(list(query))}" if query else "")

        def send(*, fresh_token: bool) -> Any:
            headers = {"Accept": accept, "User-Agent": self.user_agent}
            if payload is not None:
                headers["Content-Type"] = content_type
            token = self.connection.bearer(fresh=fresh_token)
            if token:
                headers["Authorization"] = f"Bearer {token}"
            # A failure to connect or read raises urllib3's own exception, as it did through the
            # Kubernetes client: callers that retry on any failure do so.
            return self._pool.request(
                method,
                url,
                body=payload,
                headers=headers,
                timeout=urllib3.Timeout(connect=CONNECT_TIMEOUT_SECONDS, read=read_timeout),
                preload_content=not stream,
            )

        response = send(fresh_token=False)
        if response.status == HTTPStatus.UNAUTHORIZED and self.connection.token_file is not None:
            # The token may have been rotated since it was last read: read it again, retry once.
            response.drain_conn()
            response.release_conn()
            response = send(fresh_token=True)
        return response


def _error(method: str, path: str, status: int, reason: str | None, data: bytes) -> ApiError:
    """An ApiError with the message of the API server's Status, or the body as text."""
    text = data.decode("utf-8", "replace")
    message = text.strip()
    with contextlib.suppress(ValueError):
        answer = json.loads(text)
        if isinstance(answer, dict) and answer.get("message"):
            message = str(answer["message"])
    return ApiError(
        method=method,
        path=path,
        status=status,
        reason=reason or _phrase(status),
        message=message,
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _ssl_context(connection: Connection) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=None if connection.ca_data else connection.ca_file,
        cadata=connection.ca_data.decode("ascii") if connection.ca_data else None,
    )
    if connection.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    with _pem_files(connection) as (cert, key):
        if cert is not None:
            context.load_cert_chain(certfile=cert, keyfile=key)
    return context


@contextlib.contextmanager
def _pem_files(connection: Connection) -> Iterator[tuple[Path | None, Path | None]]:
    """The client certificate and key as files (Python's ssl loads them from files only): the
    kubeconfig's own, or its -data written to a private directory removed right after."""
    if connection.cert_data is None and connection.key_data is None:
        yield connection.cert_file, connection.key_file
        return
    with tempfile.TemporaryDirectory(prefix="kopfka-tls-") as directory:
        cert, key = connection.cert_file, connection.key_file
        if connection.cert_data is not None:
            cert = Path(directory) / "client.crt"
            _write_private(cert, connection.cert_data)
        if connection.key_data is not None:
            key = Path(directory) / "client.key"
            _write_private(key, connection.key_data)
        yield cert, key


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)


def lines(response: Any) -> Iterator[bytes]:
    """The lines of a streamed response, as the API server sends watch events (one per line)."""
    pending = b""
    for chunk in response.stream(64 * 1024, decode_content=True):
        parts = (pending + chunk).split(b"\n")
        pending = parts.pop()
        yield from (line for line in parts if line.strip())
    if pending.strip():
        yield pending
