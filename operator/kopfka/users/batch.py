"""The user Job's batch: carry out a user plan's work in Kafka and say how each change went.

`kopfka users-apply` calls `run_batch`. Credentials go first (set and deleted in one
AlterUserScramCredentials request), so that a new user can log in as early as possible and a
deleted one no longer can; then ACLs (one CreateAcls and one DeleteAcls request), then quotas
(one AlterClientQuotas request). Each password is read from the file of the user's name in
`passwords` (the Job's mounted Secrets) and goes to Kafka only salted (kopfka.kafka.admin).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from kopfka.kafka.admin import KafkaAdmin
from kopfka.kafka.facts import TopicError
from kopfka.users.plan import UserWork
from kopfka.users.wire import ACLS, CREDENTIAL, DELETE_CREDENTIAL, QUOTAS, Outcome


def run_batch(
    admin: KafkaAdmin,
    work: UserWork,
    *,
    passwords: Path,
    report: Callable[[Outcome], None] = lambda _: None,
) -> list[Outcome]:
    """Carry `work` out; one outcome per user and change, each reported as Kafka answers.
    Raises KafkaUnavailable when Kafka goes away."""
    outcomes: list[Outcome] = []

    def step(action: str, results: Mapping[str, TopicError | None]) -> None:
        for user, error in sorted(results.items()):
            outcome = Outcome(user, action, error)
            outcomes.append(outcome)
            report(outcome)

    readable: dict[str, str] = {}
    unreadable: dict[str, TopicError | None] = {}
    for user in sorted(work.credentials):
        try:
            # UTF-8 whatever the locale: a user's own password may be any text.
            readable[user] = (passwords / user).read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError) as error:
            unreadable[user] = TopicError("NO_PASSWORD", f"its password cannot be read: {error}")
    step(CREDENTIAL, unreadable)
    if readable or work.deletions:
        results = admin.alter_user_credentials(readable, work.deletions)
        step(CREDENTIAL, {user: results[user] for user in readable})
        step(DELETE_CREDENTIAL, {user: results[user] for user in work.deletions})
    if work.acls:
        step(
            ACLS,
            admin.alter_user_acls(
                {user: change.create for user, change in work.acls.items()},
                {user: change.delete for user, change in work.acls.items()},
            ),
        )
    if work.quotas:
        step(QUOTAS, admin.alter_user_quotas(work.quotas))
    return outcomes
