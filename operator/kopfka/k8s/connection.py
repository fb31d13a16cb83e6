"""Where the Kubernetes API is and how to authenticate to it, read without the Kubernetes client.

The operator's own requests (k8s/rest.py) and kopf's login (handlers/settings.py) both start from
this, so the two always talk to the same API server as the same identity.

In a pod (KUBERNETES_SERVICE_HOST is set and a service account token is mounted): the service
account's token, re-read as the kubelet rotates it, and its CA. Elsewhere, a kubeconfig: the first
file of KUBECONFIG (kubectl merges every file of the list; kopfka reads the first only), or
~/.kube/config. Of a kubeconfig, the current context's cluster (server, certificate-authority or
-data, insecure-skip-tls-verify) and user (client-certificate/-key or their -data, token,
tokenFile) are used; relative paths are relative to the kubeconfig file, as kubectl reads them.
Anything else that says how to authenticate or connect (exec plugins, auth-provider,
username/password, impersonation, proxy-url, tls-server-name) is refused at startup with a
message naming it, rather than connecting as someone else or not at all.
"""

from __future__ import annotations

import base64
import binascii
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# Projected service account tokens are rotated by the kubelet; a token file is read again when
# it changes, and at least this often.
TOKEN_REREAD_SECONDS = 60.0

# Keys of a kubeconfig's cluster and user entries that kopfka reads, and those that carry
# nothing about the connection.
_CLUSTER_KEYS = frozenset(
    {"server", "certificate-authority", "certificate-authority-data", "insecure-skip-tls-verify"}
)
_USER_KEYS = frozenset(
    {
        "client-certificate",
        "client-certificate-data",
        "client-key",
        "client-key-data",
        "token",
        "tokenFile",
    }
)
_IGNORED_KEYS = frozenset({"extensions", "disable-compression"})


class ConfigError(Exception):
    """The connection configured cannot be used (a broken or unsupported kubeconfig): it will not
    work until someone changes it; the message says why."""


class NoConfig(ConfigError):
    """Neither a service account nor a kubeconfig was found."""


class TokenFile:
    """A bearer token read from a file, read again when the file changes or once a minute."""

    def __init__(self, path: Path, *, clock: Any = time.monotonic) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._stamp: tuple[float, int] | None = None
        self._read_at = float("-inf")

    def token(self, *, fresh: bool = False) -> str:
        """The token; `fresh` reads the file whatever its stamp says (after a 401)."""
        with self._lock:
            stat = self.path.stat()
            stamp = (stat.st_mtime, stat.st_ino)
            stale = self._clock() - self._read_at >= TOKEN_REREAD_SECONDS
            if fresh or stale or stamp != self._stamp:
                self._token = self.path.read_text(encoding="utf-8").strip()
                self._stamp = stamp
                self._read_at = self._clock()
            return self._token


@dataclass(frozen=True)
class Connection:
    """One API server and one identity. PEM bytes (`ca_data`, ...) are set instead of files
    when a kubeconfig embeds them."""

    server: str
    source: str  # for messages: "service account" or the kubeconfig's path
    ca_file: Path | None = None
    ca_data: bytes | None = None
    insecure: bool = False
    cert_file: Path | None = None
    cert_data: bytes | None = None
    key_file: Path | None = None
    key_data: bytes | None = None
    token: str | None = None
    token_file: TokenFile | None = field(default=None, compare=False)

    def bearer(self, *, fresh: bool = False) -> str | None:
        if self.token_file is not None:
            return self.token_file.token(fresh=fresh)
        return self.token


def from_environment(environ: Mapping[str, str] = os.environ) -> Connection:
    """The service account in a pod, else the kubeconfig (KUBECONFIG, or ~/.kube/config)."""
    found = in_cluster(environ)
    if found is not None:
        return found
    kubeconfig = kubeconfig_path(environ)
    if kubeconfig is None:
        raise NoConfig(
            "no Kubernetes API to connect to: not in a pod (KUBERNETES_SERVICE_HOST is not set "
            "or no service account token is mounted), KUBECONFIG is not set and "
            "~/.kube/config does not exist"
        )
    return from_kubeconfig(kubeconfig)


def in_cluster(
    environ: Mapping[str, str] = os.environ, *, directory: Path = SERVICE_ACCOUNT_DIR
) -> Connection | None:
    """The pod's service account, or None outside a pod."""
    host = environ.get("KUBERNETES_SERVICE_HOST")
    port = environ.get("KUBERNETES_SERVICE_PORT") or "443"
    token = directory / "token"
    if not host or not token.exists():
        return None
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    ca = directory / "ca.crt"
    return Connection(
        server=f"https://{host}:{port}",
        source="service account",
        ca_file=ca if ca.exists() else None,
        token_file=TokenFile(token),
    )


def kubeconfig_path(environ: Mapping[str, str] = os.environ) -> Path | None:
    """The first file of KUBECONFIG, or ~/.kube/config if it exists."""
    listed = [part for part in environ.get("KUBECONFIG", "").split(os.pathsep) if part.strip()]
    if listed:
        return Path(listed[0].strip()).expanduser()
    default = Path(environ.get("HOME") or Path.home()) / ".kube" / "config"
    return default if default.exists() else None


def from_kubeconfig(path: Path) -> Connection:
    """The current context of the kubeconfig at `path`."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read kubeconfig {path}: {error}") from error
    try:
        config = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"kubeconfig {path} is not YAML: {error}") from error
    if not isinstance(config, dict):
        raise ConfigError(f"kubeconfig {path} is not a mapping")
    return parse_kubeconfig(config, base=path.parent, source=str(path))


def parse_kubeconfig(config: Mapping[str, Any], *, base: Path, source: str) -> Connection:
    """A kubeconfig's current context; relative paths are relative to `base`."""
    context_name = config.get("current-context")
    if not context_name:
        raise ConfigError(f"kubeconfig {source}: no current-context")
    context = _entry(config, "contexts", "context", context_name, source)
    cluster = _entry(config, "clusters", "cluster", context.get("cluster"), source)
    user = _entry(config, "users", "user", context["user"], source) if context.get("user") else {}
    _refuse_unsupported(cluster, _CLUSTER_KEYS, f"kubeconfig {source}: cluster")
    _refuse_unsupported(user, _USER_KEYS, f"kubeconfig {source}: user")
    server = cluster.get("server")
    if not server:
        raise ConfigError(f"kubeconfig {source}: cluster {context.get('cluster')!r} has no server")
    if user.get("token") and user.get("tokenFile"):
        raise ConfigError(f"kubeconfig {source}: user has both token and tokenFile")

    def path_of(entry: Mapping[str, Any], key: str) -> Path | None:
        value = entry.get(key)
        return base / Path(value).expanduser() if value else None

    def data_of(entry: Mapping[str, Any], key: str) -> bytes | None:
        value = entry.get(key)
        if not value:
            return None
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise ConfigError(f"kubeconfig {source}: {key} is not base64: {error}") from error

    token_file = path_of(user, "tokenFile")
    return Connection(
        server=str(server).rstrip("/"),
        source=source,
        ca_file=path_of(cluster, "certificate-authority"),
        ca_data=data_of(cluster, "certificate-authority-data"),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        cert_file=path_of(user, "client-certificate"),
        cert_data=data_of(user, "client-certificate-data"),
        key_file=path_of(user, "client-key"),
        key_data=data_of(user, "client-key-data"),
        token=user.get("token") or None,
        token_file=TokenFile(token_file) if token_file else None,
    )


def _entry(
    config: Mapping[str, Any], section: str, key: str, name: Any, source: str
) -> dict[str, Any]:
    for item in config.get(section) or ():
        if isinstance(item, dict) and item.get("name") == name:
            return dict(item.get(key) or {})
    raise ConfigError(f"kubeconfig {source}: no {key} named {name!r} in {section}")


def _refuse_unsupported(entry: Mapping[str, Any], supported: frozenset[str], what: str) -> None:
    unsupported = sorted(set(entry) - supported - _IGNORED_KEYS)
    if unsupported:
        raise ConfigError(
            f"{what} uses {', '.join(unsupported)}, which kopfka does not support; kopfka "
            f"supports {', '.join(sorted(supported))} (use a kubeconfig with a client "
            "certificate or a token)"
        )
