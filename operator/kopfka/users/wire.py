"""What passes between the operator and its user Job: the work in, the outcomes out.

The work (version 2), one JSON object, gzip-compressed in the Job's ConfigMap like the topic
Job's (model/work_files.py):

    {"version": 2,
     "credentials": {"alice": "<uid>/<resourceVersion> of the Secret alice"},
     "deletions": ["bob"],
     "quotas": {"alice": {"producer_byte_rate": 1048576.0, "request_percentage": null}},
     "acls": {"alice": {"create": [["TOPIC", "orders-", "PREFIXED", "WRITE", "ALLOW", "*"]],
                        "delete": []}}}

An ACL binding is a list of Kafka's names: resource type, resource name, pattern type,
operation, permission, host (model/user.py Acl).

No password is in it: the Job reads each user's password from the file of the user's name in the
directory its Secrets are mounted at (render/user_job.py), and the Secret's revision only names
the password it set (the Job's name changes with it). `null` removes a quota.

The outcomes, on the Job's stdout, one JSON object per line, then a summary line:

    {"user": "alice", "action": "credential", "ok": true}
    {"user": "bob", "action": "quotas", "ok": false, "error": "INVALID_REQUEST", "message": "..."}
    {"summary": {"version": 1, "outcomes": 2, "failed": 1}}

`action` is `credential`, `delete-credential`, `acls` or `quotas`. Never a password.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import astuple, dataclass

from kopfka.kafka.facts import TopicError
from kopfka.model.user import Acl
from kopfka.model.work_files import compressed, json_object, work_document, work_text
from kopfka.users.plan import AclChanges, UserWork

WORK_VERSION = 2
CREDENTIAL = "credential"
DELETE_CREDENTIAL = "delete-credential"
ACLS = "acls"
QUOTAS = "quotas"


@dataclass(frozen=True)
class Outcome:
    user: str
    action: str
    error: TopicError | None

    @property
    def ok(self) -> bool:
        return self.error is None


def work_to_json(work: UserWork) -> str:
    document = {
        "version": WORK_VERSION,
        "credentials": dict(sorted(work.credentials.items())),
        "deletions": sorted(work.deletions),
        "quotas": {
            user: dict(sorted(change.items())) for user, change in sorted(work.quotas.items())
        },
        "acls": {
            user: {
                "create": [list(astuple(acl)) for acl in sorted(change.create)],
                "delete": [list(astuple(acl)) for acl in sorted(change.delete)],
            }
            for user, change in sorted(work.acls.items())
        },
    }
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def work_file(work: UserWork) -> bytes:
    return compressed(work_to_json(work))


def read_work_file(data: bytes) -> UserWork:
    """The work in a work file; ValueError when it is not work this kopfka carries out."""
    document = work_document(work_text(data), kind="user", version=WORK_VERSION)
    try:
        return UserWork(
            credentials={str(u): str(uid) for u, uid in document["credentials"].items()},
            deletions=tuple(str(user) for user in document["deletions"]),
            quotas={
                str(user): {
                    str(key): None if value is None else float(value)
                    for key, value in change.items()
                }
                for user, change in document["quotas"].items()
            },
            acls={
                str(user): AclChanges(
                    create=frozenset(_acl(item) for item in change["create"]),
                    delete=frozenset(_acl(item) for item in change["delete"]),
                )
                for user, change in document["acls"].items()
            },
        )
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise ValueError(f"the user work is not well-formed: {error!r}") from error


def _acl(item: list[str]) -> Acl:
    resource_type, name, pattern_type, operation, permission, host = (str(x) for x in item)
    return Acl(resource_type, name, pattern_type, operation, permission, host)


def outcome_line(outcome: Outcome) -> str:
    entry: dict[str, object] = {"user": outcome.user, "action": outcome.action, "ok": outcome.ok}
    if outcome.error is not None:
        entry.update(error=outcome.error.code, message=outcome.error.message)
    return json.dumps(entry, separators=(",", ":"), ensure_ascii=False)


def summary_line(outcomes: Iterable[Outcome]) -> str:
    done = list(outcomes)
    failed = sum(1 for outcome in done if not outcome.ok)
    summary = {"version": WORK_VERSION, "outcomes": len(done), "failed": failed}
    return json.dumps({"summary": summary}, separators=(",", ":"))


def refusals(log: str) -> dict[str, str]:
    """user -> Kafka's refusal, from the outcome lines of a Job's log."""
    refused: dict[str, str] = {}
    for line in log.splitlines():
        entry = json_object(line)
        if entry is None or entry.get("ok") is not False or "user" not in entry:
            continue
        refused[str(entry["user"])] = (
            f"Kafka refused the {entry.get('action')} of user {entry['user']}: "
            f"{entry.get('error')}: {entry.get('message')}"
        )
    return refused
