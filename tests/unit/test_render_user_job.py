"""The KafkaUser's password Secret and the user Job as rendered: the Secret's keys, and a Job
that names the password Secrets but carries no password; and the KafkaUser spec's parsing."""

from __future__ import annotations

import base64
import json

import pytest

from kopfka.model import names
from kopfka.model.cluster import parse_cluster
from kopfka.model.errors import SpecError
from kopfka.model.user import check_against_cluster, parse_user
from kopfka.render.operator_job import JobImage
from kopfka.render.user_job import render_user_job, render_user_secret
from kopfka.users.plan import UserWork
from kopfka.users.wire import read_work_file, work_file

PASSWORD = "p4ssw0rd-" + "z" * 34
SCRAM = {"name": "scram", "port": 9095, "authentication": {"type": "scram-sha-512"}}
CLUSTER = parse_cluster("events", "streaming", {"brokers": {"replicas": 3}, "listeners": [SCRAM]})


def test_the_secret_holds_the_password_and_a_clients_jaas_config() -> None:
    secret = render_user_secret("streaming", "alice", "events", PASSWORD)
    assert secret["metadata"]["name"] == "alice"
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert data == {
        "password": PASSWORD,
        "sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="alice" password="{PASSWORD}";',
    }


def test_the_job_mounts_the_passwords_and_carries_none() -> None:
    work = UserWork(credentials={"alice": "uid-a", "bob": "uid-b"}, deletions=("carol",))
    config_map, job = render_user_job(
        CLUSTER,
        work=work_file(work),
        credentials=work.credentials,
        bootstrap=CLUSTER.operator_bootstrap,
        image=JobImage("kopfka/operator:0.1.0", "IfNotPresent"),
    )
    assert PASSWORD not in json.dumps([config_map, job])
    assert job["metadata"]["name"].startswith("events-users-")
    assert json.loads(job["metadata"]["annotations"][names.USER_CREDENTIALS_ANNOTATION]) == {
        "alice": "uid-a",
        "bob": "uid-b",
    }
    pod = job["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False
    [container] = pod["containers"]
    assert "env" not in container
    assert container["args"][0] == "users-apply"
    assert container["args"][-2:] == ["--passwords", "/passwords"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "passwords"]
    assert volume["projected"]["defaultMode"] == 0o440
    assert [source["secret"] for source in volume["projected"]["sources"]] == [
        {"name": "alice", "items": [{"key": "password", "path": "alice"}]},
        {"name": "bob", "items": [{"key": "password", "path": "bob"}]},
    ]
    assert pod["securityContext"]["fsGroup"] == 1000
    carried = base64.b64decode(config_map["binaryData"]["work.json.gz"])
    assert read_work_file(carried) == work


def test_a_job_without_credentials_mounts_no_secret() -> None:
    _, job = render_user_job(
        CLUSTER,
        work=work_file(UserWork(deletions=("carol",))),
        credentials={},
        bootstrap=CLUSTER.operator_bootstrap,
        image=JobImage("kopfka/operator:0.1.0", "IfNotPresent"),
    )
    assert [v["name"] for v in job["spec"]["template"]["spec"]["volumes"]] == ["work"]


def test_user_spec_quotas_map_to_kafkas_keys() -> None:
    user = parse_user(
        "alice",
        {
            "cluster": "events",
            "authentication": {"type": "scram-sha-512"},
            "quotas": {
                "producerByteRate": 10,
                "consumerByteRate": 20,
                "requestPercentage": 12.5,
                "controllerMutationRate": 2,
            },
        },
    )
    assert user.quotas == {
        "producer_byte_rate": 10.0,
        "consumer_byte_rate": 20.0,
        "request_percentage": 12.5,
        "controller_mutation_rate": 2.0,
    }
    assert check_against_cluster(user, CLUSTER) is None
    plain = parse_cluster("events", "streaming", {"brokers": {"replicas": 3}})
    reason, message = check_against_cluster(user, plain) or ("", "")
    assert reason == "NoScramListener"
    assert "has no listener with authentication scram-sha-512" in message


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ({"authentication": {"type": "scram-sha-512"}}, "spec.cluster"),
        ({"cluster": "events", "authentication": {"type": "kerberos"}}, "spec.authentication.type"),
        (
            {
                "cluster": "events",
                "authentication": {"type": "scram-sha-512"},
                "quotas": {"requestPercentage": 0},
            },
            "spec.quotas.requestPercentage",
        ),
    ],
)
def test_bad_user_specs_are_refused(spec: dict[str, object], problem: str) -> None:
    with pytest.raises(SpecError) as error:
        parse_user("alice", spec)
    assert problem in str(error.value)
