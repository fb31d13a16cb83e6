"""`spec.networkPolicy` in the model (model/network_policy.py): the client peers the API server
would refuse in a NetworkPolicy are refused with the spec's own field named, those it accepts are
kept as they are, and an empty list of clients is refused rather than read as nobody (or, as a
NetworkPolicy reads it, everybody). The same rules are CEL rules at admission (bad_inputs.yaml)."""

from __future__ import annotations

from typing import Any

import pytest

from kopfka.model.cluster import ClusterSpec, parse_cluster
from kopfka.model.errors import SpecError

ON = {"enabled": True}


def parse(**spec: Any) -> ClusterSpec:
    return parse_cluster("events", "streaming", {"brokers": {"replicas": 3}, **spec})


@pytest.mark.parametrize(
    ("client", "problem"),
    [
        ({}, "spec.networkPolicy.clients[0]: a client needs podSelector"),
        (
            {"ipBlock": {"cidr": "10.0.0.0/8"}, "podSelector": {}},
            "spec.networkPolicy.clients[0]: ipBlock cannot be combined",
        ),
        ({"ipBlock": {"cidr": "10.0.0.0"}}, "cidr '10.0.0.0': ipBlock.cidr must be a CIDR"),
        ({"ipBlock": {"cidr": "10.0.0.0/255.0.0.0"}}, "ipBlock.cidr must be a CIDR"),
        ({"ipBlock": {"cidr": "fe80::/10%eth0"}}, "ipBlock.cidr must be a CIDR"),
        ({"ipBlock": {"cidr": "::ffff:10.0.0.0/104"}}, "ipBlock.cidr must be a CIDR"),
        ({"ipBlock": {"cidr": "10.0.0.0/33"}}, "ipBlock.cidr must be a CIDR"),
        ({"ipBlock": {"cidr": "10.1.2.3/8"}}, "ipBlock.cidr must be a network address"),
        ({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.0.0.0/8"]}}, "except[0] '10.0.0.0/8'"),
        ({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["11.0.0.0/16"]}}, "except[0]"),
        ({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.2.3/16"]}}, "except[0]"),
        ({"ipBlock": {"cidr": "10.0.0.0/8", "except": ["fd00::/16"]}}, "except[0]"),
        (
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "Equals"}]}},
            "matchExpressions[0].operator 'Equals' must be one of In, NotIn, Exists",
        ),
        (
            {"podSelector": {"matchExpressions": [{"key": "a", "operator": "NotIn"}]}},
            "operator NotIn needs values",
        ),
        (
            {
                "podSelector": {
                    "matchExpressions": [{"key": "a", "operator": "Exists", "values": ["b"]}]
                }
            },
            "operator Exists takes no values",
        ),
        (
            {"namespaceSelector": {"matchExpressions": [{"key": "a b", "operator": "Exists"}]}},
            "namespaceSelector.matchExpressions[0].key 'a b' must be at most 63",
        ),
        (
            {
                "podSelector": {
                    "matchExpressions": [{"key": "a", "operator": "In", "values": ["-"]}]
                }
            },
            "matchExpressions[0].values: '-' must be empty or at most 63",
        ),
        ({"podSelector": {"matchLabels": {"a": "b c"}}}, "podSelector.matchLabels.a: value 'b c'"),
    ],
)
def test_a_client_the_api_server_would_refuse_is_refused(client: Any, problem: str) -> None:
    with pytest.raises(SpecError) as refused:
        parse(networkPolicy={**ON, "clients": [client]})
    assert any(problem in found for found in refused.value.problems), refused.value.problems


@pytest.mark.parametrize(
    "client",
    [
        {"podSelector": {}},
        {"namespaceSelector": {}},
        {"namespaceSelector": {}, "podSelector": {"matchLabels": {"app": "orders"}}},
        {"ipBlock": {"cidr": "0.0.0.0/0"}},
        {"ipBlock": {"cidr": "fd00::/8", "except": ["fd00:1::/32"]}},
        {"ipBlock": {"cidr": "10.0.0.0/8", "except": ["10.1.0.0/16", "10.2.3.4/32"]}},
        {"podSelector": {"matchExpressions": [{"key": "a", "operator": "In", "values": ["b"]}]}},
    ],
)
def test_clients_kubernetes_accepts_are_accepted(client: Any) -> None:
    spec = parse(networkPolicy={**ON, "clients": [client]})
    assert spec.network_policy.clients == (client,)


def test_an_empty_list_of_clients_is_refused_and_a_missing_one_is_anybody() -> None:
    with pytest.raises(SpecError, match=r"networkPolicy\.clients must not be empty"):
        parse(networkPolicy={**ON, "clients": []})
    assert parse(networkPolicy=ON).network_policy.clients is None
    assert parse().network_policy.enabled is False
