"""What the Kafka tier's KafkaUser tests (SCRAM, ACLs, mutual TLS) share: the user Job's command
as the Job runs it, a SCRAM client's settings, what Kafka holds for users, and the ACLs the tests
give and the bindings Kafka then holds."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kopfka.kafka.admin import KafkaPythonAdmin
from kopfka.kafka.facts import UserFacts
from kopfka.model.user import Acl
from kopfka.users.plan import UserWork
from kopfka.users.wire import read_work_file, work_file

KOPFKA = Path(sys.executable).with_name("kopfka")
PASSWORD = "s3cret-" + "x" * 25
# Write on a prefix, Read on a name; and the bindings Kafka holds for them, as it lists them.
ACLS = [
    {
        "resource": {"type": "topic", "name": "orders-", "patternType": "prefix"},
        "operations": ["Write", "Describe"],
    },
    {"resource": {"type": "topic", "name": "audit"}, "operations": ["Read", "Describe"]},
]
ACL_BINDINGS = (
    Acl("TOPIC", "audit", "LITERAL", "DESCRIBE", "ALLOW", "*"),
    Acl("TOPIC", "audit", "LITERAL", "READ", "ALLOW", "*"),
    Acl("TOPIC", "orders-", "PREFIXED", "DESCRIBE", "ALLOW", "*"),
    Acl("TOPIC", "orders-", "PREFIXED", "WRITE", "ALLOW", "*"),
)


def scram(user: str, password: str) -> dict[str, Any]:
    """kafka-python's settings for a SCRAM-SHA-512 login over plaintext."""
    return {
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": user,
        "sasl_plain_password": password,
    }


def users_apply(
    bootstrap: str, work: UserWork, tmp: Path, *, passwords: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The user Job's command, as the console script installed with kopfka, with the work file
    and the passwords directory as the Job mounts them: each user's password from `passwords`,
    else PASSWORD (the files hold the Secret's bytes: UTF-8, as the kubelet writes them)."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "work.json.gz").write_bytes(work_file(work))
    assert read_work_file((tmp / "work.json.gz").read_bytes()) == work
    directory = tmp / "passwords"
    directory.mkdir(exist_ok=True)
    for user in work.credentials:
        (directory / user).write_bytes((passwords or {}).get(user, PASSWORD).encode())
    command = [str(KOPFKA), "users-apply", "--bootstrap-servers", bootstrap]
    command += ["--work", str(tmp / "work.json.gz"), "--passwords", str(directory)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def kafka_users(bootstrap: str, *names: str, acls: bool = False) -> dict[str, UserFacts]:
    """What Kafka holds for the users, read as the operator reads it."""
    admin = KafkaPythonAdmin(bootstrap, connect_timeout_ms=30000)
    try:
        return admin.users(names, acls=acls)
    finally:
        admin.close()
