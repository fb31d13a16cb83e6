"""A KafkaUser's password (or certificate) Secret, and the user Job of a KafkaCluster: `kopfka
users-apply` over the work of a user plan (render/operator_job.py, like the topic Job).

The Job gets each password it sets from the user's Secret, mounted: one projected volume holds
the `password` key of every such Secret as a file named after the user, read-only. So no password
is in the Job's spec, args, environment or ConfigMap, and the Job's pod still needs no service
account token (it reads no Secret through the API); `kubectl get job -o yaml` shows the Secrets'
names only. The Job carries the revision (uid/resourceVersion) of each Secret it reads in an
annotation, so that the operator knows which password Kafka holds once the Job succeeded.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from kopfka.model import names
from kopfka.model.cluster import ClusterSpec
from kopfka.render.operator_job import JobImage, JobKind, render_operator_job, work_digest

USER_JOB = JobKind(
    command="users-apply", container="users", backoff_limit=2, active_deadline_seconds=600
)
PASSWORDS_DIR = "/passwords"
PASSWORD_KEY = "password"
JAAS_KEY = "sasl.jaas.config"
# The password source annotation of a password kopfka generated.
GENERATED = "generated"
# The password files are readable by the pod's group only: the kubelet gives them the group
# FS_GROUP, which the Job's process has as a supplementary group whatever user the image runs as.
PASSWORD_FILE_MODE = 0o440
FS_GROUP = 1000


def jaas_config(username: str, password: str) -> str:
    """A client's `sasl.jaas.config` for SCRAM with this user's password. Kafka reads the value
    of a quoted option with Java's StreamTokenizer, where a backslash escapes the next character:
    so a backslash or a double quote of a user's own password is escaped (a generated password
    and a Kubernetes name have neither). Control characters are refused before (model/user.py
    own_password): a line break would end the quoted value."""
    quoted = password.replace("\\", "\\\\").replace('"', '\\"')
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{username}" password="{quoted}";'
    )


def _user_secret(
    namespace: str, username: str, cluster: str, files: Mapping[str, bytes]
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": names.user_secret_name(username),
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": "kopfka-user",
                "app.kubernetes.io/instance": username,
                "app.kubernetes.io/managed-by": "kopfka",
                names.CLUSTER_LABEL: cluster,
            },
        },
        "type": "Opaque",
        "data": {
            key: base64.b64encode(value).decode("ascii") for key, value in sorted(files.items())
        },
    }


def render_user_secret(
    namespace: str, username: str, cluster: str, password: str, *, source: str = GENERATED
) -> dict[str, Any]:
    """The Secret of a KafkaUser's password, without its owner reference (the caller adds it).
    `source`: where the password comes from, `<secret>/<key>` of the user's own Secret or
    GENERATED (model/names.py PASSWORD_SOURCE_ANNOTATION)."""
    secret = _user_secret(
        namespace,
        username,
        cluster,
        {
            PASSWORD_KEY: password.encode(),
            JAAS_KEY: jaas_config(username, password).encode(),
        },
    )
    secret["metadata"]["annotations"] = {names.PASSWORD_SOURCE_ANNOTATION: source}
    return secret


def render_user_certificate_secret(
    namespace: str, username: str, cluster: str, files: Mapping[str, bytes]
) -> dict[str, Any]:
    """The Secret of a TLS KafkaUser's certificate (certs/kept.py USER_FILES), without its
    owner reference (the caller adds it). Rendering makes no key: certs/keep.py issues it."""
    return _user_secret(namespace, username, cluster, files)


def render_user_job(
    spec: ClusterSpec,
    *,
    work: bytes,
    credentials: Mapping[str, str],
    bootstrap: str,
    image: JobImage,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(ConfigMap, Job), both named names.user_job_name(spec.name, work_digest(work)).
    `credentials`: user -> the revision of the Secret whose password the Job sets (the
    work's)."""
    config_map, job = render_operator_job(
        spec,
        USER_JOB,
        name=names.user_job_name(spec.name, work_digest(work)),
        labels=names.user_job_labels(spec.name),
        pod_labels=names.user_job_pod_labels(spec.name),
        work=work,
        bootstrap=bootstrap,
        image=image,
        args=["--passwords", PASSWORDS_DIR],
    )
    job["metadata"]["annotations"] = {
        names.USER_CREDENTIALS_ANNOTATION: json.dumps(dict(sorted(credentials.items())))
    }
    if credentials:
        pod = job["spec"]["template"]["spec"]
        pod["securityContext"]["fsGroup"] = FS_GROUP
        pod["volumes"].append(
            {
                "name": "passwords",
                "projected": {
                    "defaultMode": PASSWORD_FILE_MODE,
                    "sources": [
                        {
                            "secret": {
                                "name": names.user_secret_name(user),
                                "items": [{"key": PASSWORD_KEY, "path": user}],
                            }
                        }
                        for user in sorted(credentials)
                    ],
                },
            }
        )
        [container] = pod["containers"]
        container["volumeMounts"].append(
            {"name": "passwords", "mountPath": PASSWORDS_DIR, "readOnly": True}
        )
    return config_map, job
