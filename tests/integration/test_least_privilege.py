"""The chart's cluster-wide RBAC is what the operator needs: no less, and no more.

The tier's operator runs as the chart's ServiceAccount with the chart's ClusterRole (conftest),
and the recording proxy keeps every request it sends. This module runs last (conftest orders it),
after the tier has made, changed, repaired, paused, restarted and deleted clusters and topics:
a request the API server refused means the chart grants too little; a rule no request used means
it grants more than the operator needs (or a behaviour that needs it has no test). Run alone, it
has little to judge and reports most grants unused: its verdict is about the whole tier.

The API server also answers 403 when the operator writes into a namespace that is being deleted
(tests delete theirs as they end, and the operator may be reconciling there); a 403 for what the
rules grant is accepted only if its namespace is indeed gone or going.
"""

from __future__ import annotations

from tests.integration.conftest import OperatorIdentity
from tests.support.apiproxy import ApiProxy, Request
from tests.support.kube import TestKube
from tests.support.operator import OperatorProcess
from tests.support.rbac import (
    access_of,
    forbidden,
    refused_though_granted,
    ungranted,
    unused_grants,
)

# kopf's own client, and kopfka's own (k8s/rest.py), which the operator's reconciler uses. Requests
# through the proxy with other user agents come from tests (test_zero_writes' applier).
OPERATOR_USER_AGENTS = ("kopf/", "kopfka/")


# What only a real node exercises: the topic Job runs, and its pod's log is read, only where pods
# run (e2e/suite/test_topics.py, whose operator has the chart's RBAC: a grant missing there fails
# that test); pods are restarted only after Kafka said it is safe (e2e/suite/test_roll.py). No
# Kafka runs on kwok's pods, so the operator here never gets as far as a Job or a restart.
USED_IN_THE_E2E_TIER_ONLY = frozenset(
    {
        "create jobs.batch",
        "delete jobs.batch",
        "patch jobs.batch",
        "get pods/log",
        "create pods/eviction",
        "delete pods",
    }
)


def _operator_requests(api_proxy: ApiProxy) -> list[Request]:
    requests = [r for r in api_proxy.requests() if r.user_agent.startswith(OPERATOR_USER_AGENTS)]
    assert requests, "the proxy recorded no request of the operator's clients"
    return requests


def _namespace_going(kube: TestKube, request: Request) -> bool:
    access = access_of(request.method, request.path)
    if access is None or access.namespace is None:
        return False
    namespace = kube.get("v1", "Namespace", access.namespace)
    return namespace is None or namespace["metadata"].get("deletionTimestamp") is not None


def test_the_api_server_refused_the_operator_nothing(
    kube: TestKube,
    operator: OperatorProcess,
    api_proxy: ApiProxy,
    operator_identity: OperatorIdentity,
) -> None:
    requests = _operator_requests(api_proxy)
    assert [str(request) for request in forbidden(operator_identity.rules, requests)] == []
    unexplained = [
        str(request)
        for request in refused_though_granted(operator_identity.rules, requests)
        if not _namespace_going(kube, request)
    ]
    assert unexplained == []


def test_the_operator_used_every_permission_the_chart_grants(
    operator: OperatorProcess, api_proxy: ApiProxy, operator_identity: OperatorIdentity
) -> None:
    requests = _operator_requests(api_proxy)
    assert [str(grant) for grant in ungranted(operator_identity.rules, requests)] == []
    unused = [
        str(grant)
        for grant in unused_grants(operator_identity.rules, requests)
        if str(grant) not in USED_IN_THE_E2E_TIER_ONLY
    ]
    assert unused == [], (
        "charts/kopfka grants (templates/_helpers.tpl, kopfka.rbacRules) that the operator never "
        f"used across the integration tier: {', '.join(unused)}"
    )
