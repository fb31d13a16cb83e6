"""A SCRAM KafkaUser's own password (spec.authentication.password.valueFrom.secretKeyRef): the
spec's parsing and refusals, the checks of the password a user's Secret holds (each refusal's
reason and message, which name the Secret and key and never the password), the Secret kopfka
writes from it (a `sasl.jaas.config` that quotes any password), and the planner setting the
credential again for another revision of the same Secret."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from kopfka.kafka.facts import ScramCredential, UserFacts
from kopfka.model import names
from kopfka.model.errors import SpecError
from kopfka.model.user import (
    PASSWORD_INVALID,
    PASSWORD_KEY_NOT_FOUND,
    PASSWORD_SECRET_NOT_FOUND,
    PasswordProblem,
    PasswordRef,
    own_password,
    parse_user,
)
from kopfka.render.user_job import GENERATED, jaas_config, render_user_secret
from kopfka.users import plan as user_plan
from kopfka.users.plan import UserResource, UserWork, plan_users

REF = PasswordRef("orders-password", "password")
OWN = {"valueFrom": {"secretKeyRef": {"name": "orders-password", "key": "password"}}}


def spec(authentication: dict[str, Any]) -> dict[str, Any]:
    return {"cluster": "events", "authentication": authentication}


def test_the_spec_names_the_users_secret_and_key() -> None:
    user = parse_user("orders-app", spec({"type": "scram-sha-512", "password": OWN}))
    assert user.password == REF
    assert REF.text == "orders-password/password"
    assert parse_user("orders-app", spec({"type": "scram-sha-512"})).password is None


@pytest.mark.parametrize(
    ("name", "authentication", "problem"),
    [
        (
            "orders-app",
            {"type": "tls", "password": OWN},
            "spec.authentication.password is only for type scram-sha-512",
        ),
        (
            "orders-password",
            {"type": "scram-sha-512", "password": OWN},
            "secretKeyRef.name must not be the KafkaUser's own name",
        ),
        (
            "orders-app",
            {
                "type": "scram-sha-512",
                "password": {"valueFrom": {"secretKeyRef": {"name": "Orders", "key": "p"}}},
            },
            "spec.authentication.password.valueFrom.secretKeyRef.name",
        ),
        (
            "orders-app",
            {
                "type": "scram-sha-512",
                "password": {"valueFrom": {"secretKeyRef": {"name": "orders", "key": "a/b"}}},
            },
            "spec.authentication.password.valueFrom.secretKeyRef.key",
        ),
        (
            "orders-app",
            {"type": "scram-sha-512", "password": {"valueFrom": {"secretKeyRef": {"key": "p"}}}},
            "spec.authentication.password.valueFrom.secretKeyRef.name",
        ),
    ],
)
def test_refused_specs(name: str, authentication: dict[str, Any], problem: str) -> None:
    with pytest.raises(SpecError) as error:
        parse_user(name, spec(authentication))
    assert problem in str(error.value)


@pytest.mark.parametrize(
    "password",
    ["correct horse battery staple", 'quote " and back\\slash; semicolon', "Pässwört-密码-🔑", "x"],
)
def test_any_text_without_control_characters_is_a_password(password: str) -> None:
    assert own_password(REF, {"password": password.encode(), "other": b"x"}, "ns") == password


@pytest.mark.parametrize(
    ("data", "reason", "message"),
    [
        (
            None,
            PASSWORD_SECRET_NOT_FOUND,
            "Secret orders-password (spec.authentication.password.valueFrom.secretKeyRef) is "
            "not found in namespace streaming",
        ),
        (
            {"pass": b"hunter2", "user": b"x"},
            PASSWORD_KEY_NOT_FOUND,
            "Secret orders-password has no key password (its keys: pass, user)",
        ),
        ({}, PASSWORD_KEY_NOT_FOUND, "(its keys: none)"),
        (
            {"password": b""},
            PASSWORD_INVALID,
            "Secret orders-password, key password: the password is empty",
        ),
        (
            {"password": b"hunter2\xff"},
            PASSWORD_INVALID,
            "Secret orders-password, key password: the password is not UTF-8 text",
        ),
        (
            {"password": b"hunter2\n"},
            PASSWORD_INVALID,
            "Secret orders-password, key password: the password has a line break",
        ),
        (
            {"password": b"hunter2\r\n"},
            PASSWORD_INVALID,
            "the password has a line break",
        ),
        (
            {"password": b"hun\x00ter2"},
            PASSWORD_INVALID,
            "the password has a control character",
        ),
        (
            {"password": b"hun\tter2"},
            PASSWORD_INVALID,
            "the password has a control character",
        ),
    ],
)
def test_unusable_passwords_are_refused_naming_secret_and_key(
    data: dict[str, bytes] | None, reason: str, message: str
) -> None:
    with pytest.raises(PasswordProblem) as problem:
        own_password(REF, data, "streaming")
    assert problem.value.reason == reason
    assert message in problem.value.message
    assert "hunter2" not in problem.value.message


def test_the_jaas_config_quotes_backslashes_and_double_quotes() -> None:
    assert jaas_config("alice", 'a"b\\c') == (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        'username="alice" password="a\\"b\\\\c";'
    )
    generated = "Zx_9-" * 8
    assert f'password="{generated}";' in jaas_config("alice", generated)


def test_the_secret_says_where_its_password_comes_from() -> None:
    own = render_user_secret("streaming", "alice", "events", 'my "pw"', source=REF.text)
    assert own["metadata"]["name"] == "alice"
    assert own["metadata"]["annotations"] == {
        names.PASSWORD_SOURCE_ANNOTATION: "orders-password/password"
    }
    data = {key: base64.b64decode(value).decode() for key, value in own["data"].items()}
    assert data == {"password": 'my "pw"', "sasl.jaas.config": jaas_config("alice", 'my "pw"')}
    generated = render_user_secret("streaming", "alice", "events", "x")
    assert generated["metadata"]["annotations"] == {names.PASSWORD_SOURCE_ANNOTATION: GENERATED}


def test_another_revision_of_the_same_secret_sets_the_credential_again() -> None:
    """kopfka writes the KafkaUser's Secret only to change its password: a new resourceVersion
    of the same Secret (same uid) is a new password."""
    user = parse_user("alice", spec({"type": "scram-sha-512", "password": OWN}))
    held = {"alice": UserFacts((ScramCredential("SCRAM-SHA-512", 4096),))}

    def resource(applied: str) -> UserResource:
        return UserResource(
            "streaming/alice",
            "alice",
            1,
            spec=user,
            secret_revision="uid-1/200",
            applied_revision=applied,
        )

    again = plan_users([resource("uid-1/100")], held)
    assert again.work == UserWork(credentials={"alice": "uid-1/200"})
    assert again.verdicts["streaming/alice"].reason == user_plan.UPDATING
    same = plan_users([resource("uid-1/200")], held)
    assert not same.work.has_work
    assert same.verdicts["streaming/alice"].reason == user_plan.IN_SYNC
