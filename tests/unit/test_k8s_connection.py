"""Reading the connection to the Kubernetes API without the Kubernetes client (k8s/connection.py):
kubeconfig contexts, paths relative to the kubeconfig, embedded -data, what is refused, the
service account in a pod, and a token file read again when it changes."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from kopfka.k8s import connection
from kopfka.k8s.connection import ConfigError, Connection, TokenFile


def kubeconfig(
    cluster: dict[str, Any], user: dict[str, Any] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "here",
        "contexts": [
            {"name": "elsewhere", "context": {"cluster": "other", "user": "other"}},
            {"name": "here", "context": {"cluster": "c", "user": "u"}},
        ],
        "clusters": [
            {"name": "other", "cluster": {"server": "https://other:6443"}},
            {"name": "c", "cluster": cluster},
        ],
        "users": [{"name": "other", "user": {}}, {"name": "u", "user": user or {}}],
        **extra,
    }


def parse(config: dict[str, Any], base: Path = Path("/conf")) -> Connection:
    return connection.parse_kubeconfig(config, base=base, source="test")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_the_current_context_picks_cluster_and_user() -> None:
    found = parse(kubeconfig({"server": "https://api:6443/"}, {"token": "secret"}))
    assert found.server == "https://api:6443"
    assert found.bearer() == "secret"
    assert found.ca_file is None
    assert found.insecure is False


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("pki/ca.crt", Path("/conf/pki/ca.crt")),
        ("../ca.crt", Path("/conf/../ca.crt")),
        ("/abs/ca.crt", Path("/abs/ca.crt")),
    ],
)
def test_paths_are_relative_to_the_kubeconfig(written: str, expected: Path) -> None:
    found = parse(
        kubeconfig(
            {"server": "https://api", "certificate-authority": written},
            {"client-certificate": written, "client-key": written},
        )
    )
    assert found.ca_file == found.cert_file == found.key_file == expected


def test_embedded_data_is_decoded() -> None:
    found = parse(
        kubeconfig(
            {"server": "https://api", "certificate-authority-data": b64(b"CA PEM")},
            {"client-certificate-data": b64(b"CERT PEM"), "client-key-data": b64(b"KEY PEM")},
        )
    )
    assert (found.ca_data, found.cert_data, found.key_data) == (b"CA PEM", b"CERT PEM", b"KEY PEM")
    assert found.ca_file is None


def test_data_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ConfigError, match="certificate-authority-data is not base64"):
        parse(kubeconfig({"server": "https://api", "certificate-authority-data": "not base64!"}))


def test_insecure_skip_tls_verify() -> None:
    found = parse(kubeconfig({"server": "https://api", "insecure-skip-tls-verify": True}))
    assert found.insecure is True


@pytest.mark.parametrize(
    ("user", "named"),
    [
        ({"exec": {"command": "aws"}}, "exec"),
        ({"auth-provider": {"name": "oidc"}}, "auth-provider"),
        ({"username": "admin", "password": "x"}, "password, username"),
        ({"as": "someone", "token": "t"}, "as"),
    ],
)
def test_unsupported_authentication_is_refused_by_name(user: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=f"user uses {named}, which kopfka does not support"):
        parse(kubeconfig({"server": "https://api"}, user))


def test_unsupported_cluster_settings_are_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="cluster uses proxy-url, which kopfka does not support"):
        parse(kubeconfig({"server": "https://api", "proxy-url": "http://proxy"}))


def test_extensions_are_ignored() -> None:
    found = parse(kubeconfig({"server": "https://api", "extensions": []}, {"extensions": []}))
    assert found.server == "https://api"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"contexts": []}, "no current-context"),
        (kubeconfig({"server": "https://api"}) | {"current-context": "gone"}, "no context named"),
        (kubeconfig({}), "has no server"),
        (kubeconfig({"server": "https://a"}, {"token": "t", "tokenFile": "f"}), "both token"),
    ],
)
def test_broken_kubeconfigs_say_what_is_wrong(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(config)


def test_a_kubeconfig_file_and_its_token_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("first\n")
    path = tmp_path / "config"
    path.write_text(yaml.safe_dump(kubeconfig({"server": "https://api"}, {"tokenFile": "token"})))
    found = connection.from_kubeconfig(path)
    assert found.source == str(path)
    assert found.bearer() == "first"


def test_kubeconfig_path_takes_the_first_file_of_the_list(tmp_path: Path) -> None:
    environ = {"KUBECONFIG": f"{tmp_path}/a:{tmp_path}/b", "HOME": str(tmp_path)}
    assert connection.kubeconfig_path(environ) == tmp_path / "a"
    assert connection.kubeconfig_path({"HOME": str(tmp_path)}) is None
    (tmp_path / ".kube").mkdir()
    (tmp_path / ".kube" / "config").write_text("{}")
    assert connection.kubeconfig_path({"HOME": str(tmp_path)}) == tmp_path / ".kube" / "config"


def test_nothing_to_connect_to_says_so(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no Kubernetes API to connect to"):
        connection.from_environment({"HOME": str(tmp_path)})


def test_in_a_pod_the_service_account(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("pod-token")
    (tmp_path / "ca.crt").write_text("CA")
    environ = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    found = connection.in_cluster(environ, directory=tmp_path)
    assert found is not None
    assert found.server == "https://10.0.0.1:443"
    assert found.ca_file == tmp_path / "ca.crt"
    assert found.bearer() == "pod-token"
    ipv6 = connection.in_cluster({"KUBERNETES_SERVICE_HOST": "fd00::1"}, directory=tmp_path)
    assert ipv6 is not None
    assert ipv6.server == "https://[fd00::1]:443"


def test_outside_a_pod_no_service_account(tmp_path: Path) -> None:
    assert connection.in_cluster({}, directory=tmp_path) is None
    environ = {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    assert connection.in_cluster(environ, directory=tmp_path) is None  # no token mounted


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_token_file_is_read_again_when_it_changes_or_after_a_minute(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text("one")
    clock = Clock()
    tokens = TokenFile(path, clock=clock)
    assert tokens.token() == "one"

    # The kubelet swaps the file (a new inode): read at once.
    replacement = tmp_path / "token.new"
    replacement.write_text("two")
    replacement.replace(path)
    assert tokens.token() == "two"

    # Written in place within the same mtime tick: read once a minute has passed.
    stat = path.stat()
    path.write_text("three")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    clock.now = 30.0
    assert tokens.token() == "two"
    clock.now = 61.0
    assert tokens.token() == "three"
    path.write_text("four")
    assert tokens.token(fresh=True) == "four"
