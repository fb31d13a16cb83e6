"""KafkaUsers with a password of their own (spec.authentication.password.valueFrom.secretKeyRef)
against a real API server: the password is copied from the user's Secret, which kopfka only
reads, into the Secret of the KafkaUser's name; a changed password there is copied again at the
next periodic sync (kopfka does not watch Secrets); switching to a generated password and back
works, the generated one being new; and each unusable Secret is a condition naming the Secret
and key, never the password, that changes nothing.

kwok's pods run no Kafka: valid KafkaUsers report KafkaUnreachable here, after their Secret is
written. The Kafka tier (tests/kafka/test_scram.py) proves the logins with the password."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.integration.test_users import SCRAM_CLUSTER, TIMEOUT, user_syncs, wait_user_reason
from tests.support.kube import TestKube, condition
from tests.support.manifests import kafka_cluster, kafka_user
from tests.support.operator import NO_KAFKA_REASON, OperatorProcess
from tests.support.waiting import wait_for

KAFKA_USER = ("kopfka.dev/v1alpha1", "KafkaUser")
OWN = 'my "own" pässword\\1'
CHANGED = "a changed one, just as good"


def own_user(secret: str = "orders-password", key: str = "password") -> dict[str, Any]:
    return {
        "cluster": "events",
        "authentication": {
            "type": "scram-sha-512",
            "password": {"valueFrom": {"secretKeyRef": {"name": secret, "key": key}}},
        },
    }


def source_secret(namespace: str, data: dict[str, bytes], name: str = "orders-password") -> Any:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": namespace},
        "data": {key: base64.b64encode(value).decode() for key, value in data.items()},
    }


def held(kube: TestKube, name: str, namespace: str) -> dict[str, str]:
    secret = kube.get("v1", "Secret", name, namespace)
    data = (secret or {}).get("data") or {}
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def jaas(user: str, quoted: str) -> str:
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{user}" password="{quoted}";'
    )


def wait_password(kube: TestKube, name: str, namespace: str, password: str) -> dict[str, str]:
    return wait_for(
        lambda: (data := held(kube, name, namespace)).get("password") == password and data,
        timeout=TIMEOUT,
        what=f"Secret {name} to hold the expected password",
    )


def test_an_own_password_is_copied_and_a_changed_one_is_copied_again(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    log_start = operator.log_size()
    kube.apply(source_secret(namespace, {"password": OWN.encode(), "other": b"kept"}))
    source = kube.must_get("v1", "Secret", "orders-password", namespace)
    kube.apply(
        kafka_cluster("events", namespace, SCRAM_CLUSTER),
        kafka_user("orders-app", namespace, own_user()),
    )
    user = wait_user_reason(kube, "orders-app", namespace, NO_KAFKA_REASON)

    copy = kube.must_get("v1", "Secret", "orders-app", namespace)
    [owner] = copy["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"]) == ("KafkaUser", user["metadata"]["uid"])
    assert copy["metadata"]["annotations"]["kopfka.dev/password-source"] == (
        "orders-password/password"
    )
    assert held(kube, "orders-app", namespace) == {
        "password": OWN,
        "sasl.jaas.config": jaas("orders-app", 'my \\"own\\" pässword\\\\1'),
    }
    # The user's Secret is only read: not written, not owned, not labelled.
    assert kube.must_get("v1", "Secret", "orders-password", namespace) == source
    assert "ownerReferences" not in source["metadata"]

    # A changed password (the same Secret, another value) is copied at a later periodic sync.
    kube.apply(source_secret(namespace, {"password": CHANGED.encode(), "other": b"kept"}))
    wait_password(kube, "orders-app", namespace, CHANGED)
    again = kube.must_get("v1", "Secret", "orders-app", namespace)
    assert again["metadata"]["uid"] == copy["metadata"]["uid"]
    assert again["metadata"]["resourceVersion"] != copy["metadata"]["resourceVersion"]
    [changed] = [
        event
        for event in kube.list("v1", "Event", namespace)
        if event["involvedObject"]["name"] == "orders-app" and event["reason"] == "PasswordChanged"
    ]
    assert changed["type"] == "Normal"
    assert changed["message"].startswith(
        "wrote the password of Secret orders-password, key password into Secret orders-app"
    )

    # No password anywhere but in the two Secrets: not in the KafkaUser, its Events, the log.
    wait_user_reason(kube, "orders-app", namespace, NO_KAFKA_REASON)
    visible = json.dumps(kube.must_get(*KAFKA_USER, "orders-app", namespace))
    visible += json.dumps(kube.list("v1", "Event", namespace))
    visible += operator.log_since(log_start)
    for password in (OWN, CHANGED, "pässword"):
        assert password not in visible


def test_switching_to_a_generated_password_and_back(
    kube: TestKube, operator: OperatorProcess, namespace: str, metrics_url: str
) -> None:
    generated_user = {"cluster": "events", "authentication": {"type": "scram-sha-512"}}
    kube.apply(
        source_secret(namespace, {"password": OWN.encode()}),
        kafka_cluster("events", namespace, SCRAM_CLUSTER),
        kafka_user("billing", namespace, generated_user),
    )
    wait_user_reason(kube, "billing", namespace, NO_KAFKA_REASON)
    first = held(kube, "billing", namespace)["password"]
    assert len(first) >= 40

    kube.apply(kafka_user("billing", namespace, own_user()))
    wait_password(kube, "billing", namespace, OWN)
    annotations = kube.must_get("v1", "Secret", "billing", namespace)["metadata"]["annotations"]
    assert annotations["kopfka.dev/password-source"] == "orders-password/password"

    # Back to generated: a new password, neither the user's nor the one generated before.
    kube.apply(kafka_user("billing", namespace, generated_user))
    data = wait_for(
        lambda: (d := held(kube, "billing", namespace)).get("password") not in (OWN, None) and d,
        timeout=TIMEOUT,
        what="a generated password in Secret billing",
    )
    assert data["password"] != first
    assert len(data["password"]) >= 40
    assert data["sasl.jaas.config"] == jaas("billing", data["password"])
    annotations = kube.must_get("v1", "Secret", "billing", namespace)["metadata"]["annotations"]
    assert annotations["kopfka.dev/password-source"] == "generated"
    wait_user_reason(kube, "billing", namespace, NO_KAFKA_REASON)
    # ... and it stays: later syncs do not generate another.
    version = kube.must_get("v1", "Secret", "billing", namespace)["metadata"]["resourceVersion"]
    before = user_syncs(metrics_url)
    wait_for(
        lambda: user_syncs(metrics_url) >= before + 3,
        timeout=TIMEOUT,
        what="three more syncs of KafkaUsers",
    )
    after = kube.must_get("v1", "Secret", "billing", namespace)
    assert after["metadata"]["resourceVersion"] == version
    # The user's Secret was never touched.
    assert held(kube, "orders-password", namespace) == {"password": OWN}


def test_unusable_own_passwords_get_a_condition_and_change_nothing(
    kube: TestKube, operator: OperatorProcess, namespace: str
) -> None:
    kube.apply(kafka_cluster("events", namespace, SCRAM_CLUSTER))
    # No such Secret: nothing is made.
    kube.apply(kafka_user("alice", namespace, own_user("alice-password")))
    alice = wait_user_reason(kube, "alice", namespace, "PasswordSecretNotFound")
    assert (condition(alice, "Ready") or {})["message"].startswith(
        "Secret alice-password (spec.authentication.password.valueFrom.secretKeyRef) is not "
        f"found in namespace {namespace}"
    )
    assert kube.get("v1", "Secret", "alice", namespace) is None

    cases = {
        "bob": ({"pass": b"hunter2-bob"}, "PasswordKeyNotFound", "has no key password"),
        "carol": ({"password": b""}, "PasswordInvalid", "key password: the password is empty"),
        "dave": (
            {"password": b"hunter2-dave\n"},
            "PasswordInvalid",
            "key password: the password has a line break",
        ),
        "erin": ({"password": b"\xffhunter2"}, "PasswordInvalid", "is not UTF-8 text"),
    }
    for user, (data, _, _) in cases.items():
        kube.apply(
            source_secret(namespace, data, name=f"{user}-password"),
            kafka_user(user, namespace, own_user(f"{user}-password")),
        )
    for user, (_, reason, message) in cases.items():
        found = wait_user_reason(kube, user, namespace, reason)
        text = (condition(found, "Ready") or {})["message"]
        assert f"Secret {user}-password" in text
        assert message in text
        assert "hunter2" not in json.dumps(found)
        assert kube.get("v1", "Secret", user, namespace) is None

    # A user whose password was good keeps it (in its Secret, and so in Kafka) when its Secret
    # breaks, and gets it again once mended.
    kube.apply(source_secret(namespace, {"password": OWN.encode()}, name="alice-password"))
    wait_user_reason(kube, "alice", namespace, NO_KAFKA_REASON)
    good = kube.must_get("v1", "Secret", "alice", namespace)
    kube.apply(source_secret(namespace, {"password": b""}, name="alice-password"))
    wait_user_reason(kube, "alice", namespace, "PasswordInvalid")
    kube.delete("v1", "Secret", "alice-password", namespace)
    wait_user_reason(kube, "alice", namespace, "PasswordSecretNotFound")
    assert kube.must_get("v1", "Secret", "alice", namespace) == good
