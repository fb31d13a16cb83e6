"""A pass-through HTTP proxy in front of the kube-apiserver that records every request it forwards.

Why: "a second reconcile of an unchanged cluster writes nothing" is a claim about the requests the
operator sends. kube-apiserver's metrics (`apiserver_request_total`) count requests per verb and
resource but not per client, and the control plane runs no audit log (every component also uses
the same admin certificate), so the operator talks to the API server through this proxy instead:
it forwards every request and response byte for byte (watches stream through) and appends one
JSON line per request (time, method, path with its query string, status, user agent) to a file
the tests read. Writes are the POST, PUT, PATCH and DELETE requests. The operator's kubeconfig
points at the proxy (plain HTTP on 127.0.0.1); the proxy authenticates upstream with the
credentials of the kubeconfig it is given (the cluster's admin, or a service account's token).

A test can also hold requests (`ApiProxy.hold`, which tells the proxy on a path of its own that
is never forwarded): a request that matches a held pattern waits in the proxy, recorded as held,
until the pattern is released; if its client goes away meanwhile (an operator killed while it
waits), the request is never sent. So "killed in the middle of a
reconcile" is a state a test can put the operator in, not a race it hopes to win.

    python -m tests.support.apiproxy --kubeconfig KUBECONFIG --port-file F --requests F --held F
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import signal
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import kubernetes
import yaml
from aiohttp import web

from tests.support.operator import dies_with_parent
from tests.support.waiting import wait_for

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The proxy's own path: PUT a JSON list of patterns (on "METHOD path") to hold.
HOLDS_PATH = "/__apiproxy/holds"
# Hop-by-hop headers, and those aiohttp recomputes for the bytes it actually sends.
_DROP_HEADERS = frozenset(
    {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "upgrade"}
)


@dataclass(frozen=True)
class Request:
    time: float
    method: str
    path: str
    status: int
    user_agent: str

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status} ({self.user_agent})"

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    @property
    def resource_path(self) -> str:
        """The path without the query string."""
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, str]:
        """The query parameters (watch, labelSelector, ...), each with its last value."""
        return {key: values[-1] for key, values in parse_qs(urlsplit(self.path).query).items()}


def _upstream(kubeconfig: str) -> tuple[str, ssl.SSLContext, dict[str, str]]:
    """The API server's URL, a TLS context with the kubeconfig's CA and client certificate, and
    the auth header if the kubeconfig uses a token."""
    config = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=kubeconfig, client_configuration=config)
    context = ssl.create_default_context(cafile=config.ssl_ca_cert)
    if not config.verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if config.cert_file:
        context.load_cert_chain(config.cert_file, config.key_file)
    headers = {}
    # "Bearer <token>"; the client keeps it under "BearerToken" (older versions: "authorization").
    token = config.get_api_key_with_prefix("BearerToken", alias="authorization")
    if token:
        headers["Authorization"] = token
    return config.host.rstrip("/"), context, headers


async def _serve(kubeconfig: str, port_file: Path, requests_file: Path, held_file: Path) -> None:
    base, context, auth = _upstream(kubeconfig)
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(ssl=context, limit=0),
        auto_decompress=False,
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
    )
    log = requests_file.open("a", buffering=1)
    held = held_file.open("a", buffering=1)
    holds: list[re.Pattern[str]] = []
    holds_changed = asyncio.Condition()

    def is_held(line: str) -> bool:
        return any(pattern.search(line) for pattern in holds)

    async def set_holds(request: web.Request) -> web.Response:
        patterns = await request.json()
        async with holds_changed:
            holds[:] = [re.compile(pattern) for pattern in patterns]
            holds_changed.notify_all()
        return web.Response(status=204)

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _DROP_HEADERS}
        headers.update(auth)
        body = await request.read()
        line = f"{request.method} {request.path_qs}"
        if is_held(line):
            held.write(json.dumps({"time": time.time(), "request": line}) + "\n")
            async with holds_changed:
                await holds_changed.wait_for(lambda: not is_held(line))
        async with session.request(
            request.method, base + request.path_qs, headers=headers, data=body or None
        ) as upstream:
            record = {
                "time": time.time(),
                "method": request.method,
                "path": request.path_qs,
                "status": upstream.status,
                "user_agent": request.headers.get("User-Agent", ""),
            }
            log.write(json.dumps(record) + "\n")
            response = web.StreamResponse(
                status=upstream.status,
                headers={
                    k: v for k, v in upstream.headers.items() if k.lower() not in _DROP_HEADERS
                },
            )
            await response.prepare(request)
            async for chunk in upstream.content.iter_any():
                await response.write(chunk)
            await response.write_eof()
            return response

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_put(HOLDS_PATH, set_holds)
    app.router.add_route("*", "/{tail:.*}", forward)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    tmp = port_file.with_suffix(".tmp")
    tmp.write_text(str(port))
    tmp.rename(port_file)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    await runner.cleanup()
    await session.close()
    log.close()
    held.close()


class ApiProxy:
    """Runs the proxy as a child process; `kubeconfig` is the one clients should use."""

    def __init__(self, *, upstream_kubeconfig: Path, workdir: Path, env: dict[str, str]) -> None:
        self.upstream_kubeconfig = upstream_kubeconfig
        self.workdir = workdir
        self.env = env
        self.port_file = workdir / "apiproxy.port"
        self.requests_file = workdir / "apiproxy-requests.jsonl"
        self.held_file = workdir / "apiproxy-held.jsonl"
        self._holds: list[str] = []
        self._port = 0
        self.kubeconfig = workdir / "kubeconfig-via-proxy.yaml"
        self.process: subprocess.Popen[bytes] | None = None
        self._seen: list[Request] = []
        self._offset = 0

    def start(self) -> None:
        self.port_file.unlink(missing_ok=True)
        self.requests_file.touch()
        root = Path(__file__).resolve().parents[2]
        log = (self.workdir / "apiproxy.log").open("ab")
        self.process = subprocess.Popen(
            dies_with_parent(
                [
                    sys.executable,
                    "-m",
                    "tests.support.apiproxy",
                    "--kubeconfig",
                    str(self.upstream_kubeconfig),
                    "--port-file",
                    str(self.port_file),
                    "--requests",
                    str(self.requests_file),
                    "--held",
                    str(self.held_file),
                ]
            ),
            cwd=root,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

        def started() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"the API proxy exited; see {self.workdir / 'apiproxy.log'}")
            return self.port_file.exists()

        wait_for(started, timeout=30, what="the API proxy to listen")
        port = self._port = int(self.port_file.read_text())
        self.kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [
                        {"name": "proxy", "cluster": {"server": f"http://127.0.0.1:{port}"}}
                    ],
                    "users": [{"name": "proxy", "user": {}}],
                    "contexts": [
                        {"name": "proxy", "context": {"cluster": "proxy", "user": "proxy"}}
                    ],
                    "current-context": "proxy",
                }
            )
        )

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self.process = None

    def requests(self, *, since: float = 0.0, path: str = "", method: str = "") -> list[Request]:
        """Requests forwarded at or after `since` whose path contains `path` (and of `method`)."""
        return [
            request
            for request in self._read()
            if request.time >= since
            and path in request.path
            and (not method or request.method == method)
        ]

    @contextlib.contextmanager
    def hold(self, pattern: str) -> Iterator[None]:
        """Requests whose "METHOD path" matches `pattern` (a regex) wait until the block ends."""
        self._set_holds([*self._holds, pattern])
        try:
            yield
        finally:
            self._set_holds([held for held in self._holds if held != pattern])

    def _set_holds(self, patterns: list[str]) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self._port}{HOLDS_PATH}",
            data=json.dumps(patterns).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30):
            self._holds = patterns

    def held(self, pattern: str) -> list[str]:
        """The requests ("METHOD path") that the proxy has held and that match `pattern`."""
        if not self.held_file.exists():
            return []
        lines = self.held_file.read_text().splitlines()
        requests = [json.loads(line)["request"] for line in lines if line.endswith("}")]
        return [request for request in requests if re.search(pattern, request)]

    def writes(self, *, since: float = 0.0, path: str = "") -> list[Request]:
        return [request for request in self.requests(since=since, path=path) if request.is_write]

    def _read(self) -> list[Request]:
        """Every request so far; reads only what the proxy appended since the last call."""
        with self.requests_file.open("rb") as records:
            records.seek(self._offset)
            new = records.read()
        complete = new[: new.rfind(b"\n") + 1]
        self._offset += len(complete)
        self._seen.extend(Request(**json.loads(line)) for line in complete.splitlines())
        return self._seen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kubeconfig", required=True)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--requests", type=Path, required=True)
    parser.add_argument("--held", type=Path, required=True)
    args = parser.parse_args(argv)
    asyncio.run(_serve(args.kubeconfig, args.port_file, args.requests, args.held))
    return 0


if __name__ == "__main__":
    sys.exit(main())
