"""What to change in Kafka so that it holds what a cluster's KafkaUsers say, and what each
KafkaUser's status says about it. PURE: tested by tables of cases (tests/unit/test_user_plan.py).

Ownership: a KafkaUser owns, in its cluster's Kafka, the SCRAM-SHA-512 credential of the user of
its name (a TLS user must have none: it logs in with its certificate, which Kafka does not hold,
so a credential found is deleted), every quota of that user's own entity (without a client id)
and, on a cluster with an authorizer, every ACL of its principal User:<name>; users Kafka holds
without a KafkaUser are left alone. So:
- the credential is set when Kafka has none, and again when the password's Secret is not as it
  was when Kafka's credential was set from it: Kafka never shows a password, so the planner
  compares the Secret's revision (`<uid>/<resourceVersion>`) with the one recorded when a user
  Job set the credential (`applied_revision`). A Secret made again has another uid; kopfka
  writes a Secret that is there only to change its password (the user's own changed, or one
  generated anew), which gives it another resourceVersion;
- quotas the spec sets are set to its values, and the user's other quotas are removed;
- ACL bindings the spec names and Kafka lacks are created, and the principal's other bindings
  deleted (the sync reads ACLs only from clusters with an authorizer, and refuses ACLs for the
  others, so without one this plans nothing);
- a KafkaUser being deleted has its credential, quotas and ACLs removed; once Kafka shows none
  of them, it is released (its finalizer removed);
- a KafkaUser whose spec kopfka refuses (or whose cluster has no listener for its
  authentication) changes nothing in Kafka until it is mended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field

from kopfka.kafka.facts import UserFacts
from kopfka.model.user import Acl, UserSpec

SCRAM_MECHANISM = "SCRAM-SHA-512"

IN_SYNC = "InSync"
CREATING = "Creating"
UPDATING = "Updating"
DELETING = "Deleting"
DELETED = "Deleted"
SECRET_MISSING = "SecretMissing"


@dataclass(frozen=True)
class UserResource:
    """A KafkaUser as the planner sees it."""

    key: str  # namespace/name
    username: str
    generation: int
    _: KW_ONLY
    spec: UserSpec | None = None
    # (reason, message) when kopfka refuses the KafkaUser whatever Kafka holds.
    problem: tuple[str, str] | None = None
    # The password (or certificate) Secret's revision, `<uid>/<resourceVersion>`, as it is now.
    secret_revision: str | None = None
    # The revision of the Secret Kafka's credential was set from, as last known.
    applied_revision: str | None = None
    deleting: bool = False
    # A TLS user's certificate as its Secret holds it: (subject, notAfter).
    certificate: tuple[str, str] | None = None


@dataclass(frozen=True)
class AclChanges:
    """The ACL bindings of one user to create and to delete."""

    create: frozenset[Acl] = frozenset()
    delete: frozenset[Acl] = frozenset()


@dataclass(frozen=True)
class UserWork:
    """What the user Job carries out: credentials to set (user -> the revision of the Secret
    whose password it reads), credentials to delete, quota changes (None removes a quota), and ACL
    changes."""

    credentials: Mapping[str, str] = field(default_factory=dict)
    deletions: tuple[str, ...] = ()
    quotas: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    acls: Mapping[str, AclChanges] = field(default_factory=dict)

    @property
    def has_work(self) -> bool:
        return bool(self.credentials or self.deletions or self.quotas or self.acls)

    @property
    def users(self) -> frozenset[str]:
        return frozenset({*self.credentials, *self.deletions, *self.quotas, *self.acls})


@dataclass(frozen=True)
class Verdict:
    reason: str
    message: str
    generation: int
    _: KW_ONLY
    ready: bool = False
    released: bool = False  # a KafkaUser being deleted that Kafka holds nothing of any more
    facts: UserFacts | None = None  # what Kafka holds; None: nothing to report


@dataclass(frozen=True)
class UserPlan:
    verdicts: Mapping[str, Verdict]
    work: UserWork


def has_credential(facts: UserFacts | None) -> bool:
    return facts is not None and any(c.mechanism == SCRAM_MECHANISM for c in facts.credentials)


def quota_changes(
    desired: Mapping[str, float], held: Mapping[str, float]
) -> dict[str, float | None]:
    """The quota operations that make `held` into `desired`: values to set, None to remove."""
    changes: dict[str, float | None] = {
        key: value for key, value in desired.items() if held.get(key) != value
    }
    changes.update({key: None for key in held if key not in desired})
    return dict(sorted(changes.items()))


def acl_changes(desired: frozenset[Acl], held: Sequence[Acl]) -> AclChanges | None:
    """The bindings that make `held` into `desired`, or None when they are the same."""
    kept = frozenset(held)
    changes = AclChanges(create=desired - kept, delete=kept - desired)
    return changes if changes.create or changes.delete else None


def _remove_all(
    name: str,
    facts: UserFacts | None,
    *,
    deletions: list[str],
    quotas: dict[str, dict[str, float | None]],
    acls: dict[str, AclChanges],
) -> bool:
    """Add the removal of everything Kafka holds of a user being deleted to the work; whether
    there was anything."""
    if facts is None:
        return False
    removed = False
    if has_credential(facts):
        deletions.append(name)
        removed = True
    if facts.quotas:
        quotas[name] = quota_changes({}, facts.quotas)
        removed = True
    held_acls = acl_changes(frozenset(), facts.acls)
    if held_acls is not None:
        acls[name] = held_acls
        removed = True
    return removed


def _tls_verdict(
    resource: UserResource, facts: UserFacts | None, *, credential: bool, quotas: bool, acls: bool
) -> Verdict:
    """A TLS user's verdict: Kafka must hold no SCRAM credential of it (one left from a former
    KafkaUser of that name, or made by hand, would let a password in), and its quotas and
    ACLs."""
    name = resource.username
    if credential:
        message = f"removing the SCRAM credential of user {name}: it logs in with a certificate"
    elif quotas:
        message = f"setting the quotas of user {name}"
    elif acls:
        message = f"setting the ACLs of user {name}"
    else:
        until = f" (valid until {resource.certificate[1]})" if resource.certificate else ""
        return Verdict(
            IN_SYNC,
            f"user {name} logs in with the certificate in its Secret{until}; Kafka holds its "
            "ACLs and quotas",
            resource.generation,
            ready=True,
            facts=facts,
        )
    return Verdict(UPDATING, message, resource.generation, facts=facts)


def plan_users(resources: Sequence[UserResource], actual: Mapping[str, UserFacts]) -> UserPlan:
    """The verdict of every KafkaUser and the work that brings Kafka to them. `actual`: what
    Kafka holds, by user name (users with neither credential nor quota left out)."""
    verdicts: dict[str, Verdict] = {}
    credentials: dict[str, str] = {}
    deletions: list[str] = []
    quotas: dict[str, dict[str, float | None]] = {}
    acls: dict[str, AclChanges] = {}
    for resource in sorted(resources, key=lambda r: r.key):
        name = resource.username
        facts = actual.get(name)
        if resource.deleting:
            if _remove_all(name, facts, deletions=deletions, quotas=quotas, acls=acls):
                verdicts[resource.key] = Verdict(
                    DELETING,
                    f"removing the credential, quotas and ACLs of user {name} from Kafka",
                    resource.generation,
                    facts=facts,
                )
            else:
                verdicts[resource.key] = Verdict(
                    DELETED,
                    f"Kafka holds no credential, quota or ACL of user {name}",
                    resource.generation,
                    released=True,
                )
            continue
        if (
            resource.problem is not None
            or resource.spec is None
            or resource.secret_revision is None
        ):
            what = "certificate" if resource.spec is not None and resource.spec.tls else "password"
            reason, message = resource.problem or (
                SECRET_MISSING,
                f"the {what} Secret of user {name} is being made",
            )
            verdicts[resource.key] = Verdict(reason, message, resource.generation, facts=facts)
            continue
        changes = quota_changes(resource.spec.quotas, facts.quotas if facts else {})
        if changes:
            quotas[name] = changes
        bindings = acl_changes(resource.spec.acls, facts.acls if facts else ())
        if bindings is not None:
            acls[name] = bindings
        present = has_credential(facts)
        if resource.spec.tls:
            verdicts[resource.key] = _tls_verdict(
                resource, facts, credential=present, quotas=bool(changes), acls=bindings is not None
            )
            if present:
                deletions.append(name)
            continue
        if not present or resource.applied_revision != resource.secret_revision:
            credentials[name] = resource.secret_revision
        if not present:
            reason, message = CREATING, f"setting the SCRAM-SHA-512 credential of user {name}"
        elif name in credentials:
            reason = UPDATING
            message = f"setting the credential of user {name} from its Secret's password"
        elif changes:
            reason, message = UPDATING, f"setting the quotas of user {name}"
        elif bindings is not None:
            reason, message = UPDATING, f"setting the ACLs of user {name}"
        else:
            verdicts[resource.key] = Verdict(
                IN_SYNC,
                f"Kafka holds the SCRAM-SHA-512 credential, ACLs and quotas of user {name}",
                resource.generation,
                ready=True,
                facts=facts,
            )
            continue
        verdicts[resource.key] = Verdict(reason, message, resource.generation, facts=facts)
    work = UserWork(
        credentials=credentials, deletions=tuple(sorted(deletions)), quotas=quotas, acls=acls
    )
    return UserPlan(verdicts=verdicts, work=work)
