"""kopfka's own Kubernetes transport (k8s/rest.py, k8s/connection.py) against the real API server:
every way of authenticating it supports (a kubeconfig with files relative to it, one with
embedded -data, a service account token in a pod, rotated), kopf's login built from the same
reading, and the API server's refusals carried with their status and message."""

from __future__ import annotations

import base64
import shutil
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from kopfka.handlers.settings import login
from kopfka.k8s import connection
from kopfka.k8s.client import ApplyError, Kube
from kopfka.k8s.rest import ApiError, RestClient
from tests.integration.conftest import OperatorIdentity
from tests.integration.controlplane import ControlPlane

NAMESPACES = "/api/v1/namespaces"


def _admin(control_plane: ControlPlane) -> tuple[dict[str, Any], dict[str, Any]]:
    """The admin kubeconfig's cluster and user entries (they name files, by absolute paths)."""
    config = yaml.safe_load(control_plane.kubeconfig.read_text())
    return config["clusters"][0]["cluster"], config["users"][0]["user"]


def _write_kubeconfig(path: Path, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "test",
                "contexts": [{"name": "test", "context": {"cluster": "c", "user": "u"}}],
                "clusters": [{"name": "c", "cluster": cluster}],
                "users": [{"name": "u", "user": user}],
            }
        )
    )
    return path


def _embedded(control_plane: ControlPlane, tmp_path: Path) -> Path:
    cluster, user = _admin(control_plane)

    def data(file: str) -> str:
        return base64.b64encode(Path(file).read_bytes()).decode()

    return _write_kubeconfig(
        tmp_path / "embedded.yaml",
        {
            "server": cluster["server"],
            "certificate-authority-data": data(cluster["certificate-authority"]),
        },
        {
            "client-certificate-data": data(user["client-certificate"]),
            "client-key-data": data(user["client-key"]),
        },
    )


def _relative(control_plane: ControlPlane, tmp_path: Path) -> Path:
    cluster, user = _admin(control_plane)
    (tmp_path / "conf" / "pki").mkdir(parents=True)
    for name, file in [
        ("ca.crt", cluster["certificate-authority"]),
        ("admin.crt", user["client-certificate"]),
        ("admin.key", user["client-key"]),
    ]:
        shutil.copy(file, tmp_path / "conf" / "pki" / name)
    return _write_kubeconfig(
        tmp_path / "conf" / "kubeconfig.yaml",
        {"server": cluster["server"], "certificate-authority": "pki/ca.crt"},
        {"client-certificate": "pki/admin.crt", "client-key": "pki/admin.key"},
    )


@pytest.mark.parametrize("make", [_relative, _embedded])
def test_a_kubeconfig_with_relative_files_or_embedded_data(
    control_plane: ControlPlane, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, make: Any
) -> None:
    kubeconfig = make(control_plane, tmp_path)
    monkeypatch.chdir("/")  # relative to the kubeconfig, not to the working directory
    client = RestClient.from_kubeconfig(kubeconfig)
    try:
        # Listing namespaces needs the admin's client certificate (anonymous may not).
        assert client.request("GET", NAMESPACES)["kind"] == "NamespaceList"
    finally:
        client.close()

    # kopf logs in from the same reading: its TLS context presents the same certificate.
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    info = login()
    with urllib.request.urlopen(info.server + NAMESPACES, context=info.as_ssl_context()) as answer:
        assert answer.status == 200


def test_a_service_account_in_a_pod_and_its_token_rotated(
    control_plane: ControlPlane,
    crds: list[str],
    operator_identity: OperatorIdentity,
    tmp_path: Path,
) -> None:
    """As the pod's mounted token and CA, and the service's address from the environment; a
    token that stops working is read again from its file."""
    cluster, _ = _admin(control_plane)
    token = yaml.safe_load(operator_identity.kubeconfig.read_text())["users"][0]["user"]["token"]
    shutil.copy(cluster["certificate-authority"], tmp_path / "ca.crt")
    (tmp_path / "token").write_text("not-a-valid-token")
    server = urlsplit(cluster["server"])
    environ = {
        "KUBERNETES_SERVICE_HOST": str(server.hostname),
        "KUBERNETES_SERVICE_PORT": str(server.port),
    }
    found = connection.in_cluster(environ, directory=tmp_path)
    assert found is not None
    client = RestClient(found)
    try:
        with pytest.raises(ApiError) as refused:
            client.request("GET", "/api/v1/pods", query=[("limit", "1")])
        assert refused.value.status == 401

        # The kubelet writes the new token next to the old one and swaps them.
        (tmp_path / "token.new").write_text(token)
        (tmp_path / "token.new").replace(tmp_path / "token")
        listed = client.request("GET", "/api/v1/pods", query=[("limit", "1")])
        assert listed["kind"] == "PodList"

        # The account may not list namespaces: 403, with the API server's reason.
        with pytest.raises(ApiError) as forbidden:
            client.request("GET", NAMESPACES)
        assert forbidden.value.status == 403
        assert 'cannot list resource "namespaces"' in forbidden.value.summary()
    finally:
        client.close()


def test_refusals_carry_the_api_servers_message(
    control_plane: ControlPlane, namespace: str
) -> None:
    client = RestClient.from_kubeconfig(control_plane.kubeconfig)
    kube = Kube(client)
    try:
        with pytest.raises(ApiError) as missing:
            client.request("GET", f"{NAMESPACES}/{namespace}/configmaps/absent")
        assert (missing.value.status, missing.value.reason) == (404, "Not Found")
        assert missing.value.summary() == 'configmaps "absent" not found'
        assert kube.get("v1", "ConfigMap", "absent", namespace) is None

        bad = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "Not_A_Name", "namespace": namespace},
        }
        with pytest.raises(
            ApplyError,
            match=r'^ConfigMap Not_A_Name: ConfigMap "Not_A_Name" is invalid: metadata.name',
        ):
            kube.create(bad)
    finally:
        client.close()
