"""`spec.networkPolicy` as a typed value, and the checks of its client peers.

The CRD refuses malformed peers at `kubectl apply` with CEL rules (schema.py); this module says
the same of specs that never met the API server, and checks what CEL leaves to the NetworkPolicy's
own validation, the label selectors, so that a bad selector is `InvalidSpec` naming the spec's
field rather than an `ApplyFailed` naming the NetworkPolicy's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kopfka.model import kubernetes_names, schema

FIELD = "spec.networkPolicy"
# A CIDR as the API server's CEL `isCIDR` reads it: an address and a prefix length, no netmask,
# no zone.
_CIDR_SHAPE = re.compile(r"[0-9A-Fa-f.:]+/[0-9]{1,3}")
_SELECTOR_OPERATORS = {"In": True, "NotIn": True, "Exists": False, "DoesNotExist": False}


@dataclass(frozen=True)
class NetworkPolicy:
    """Whether the cluster gets its NetworkPolicy, and who may reach its client listeners:
    `clients` are NetworkPolicy peers as the API server stored them; None is everybody."""

    enabled: bool
    clients: tuple[Mapping[str, Any], ...] | None


def parse_network_policy(raw: Mapping[str, Any], problems: list[str]) -> NetworkPolicy:
    """`raw` has passed the schema check (validation.check); the CEL rules and the selectors
    are checked here, each problem added to `problems`."""
    clients = raw.get("clients")
    if clients is not None:
        if not clients:
            problems.append(f"{FIELD}.clients: {schema.NETWORK_POLICY_NO_CLIENTS}")
        for index, peer in enumerate(clients):
            problems.extend(peer_problems(peer, f"{FIELD}.clients[{index}]"))
    return NetworkPolicy(
        enabled=bool(raw.get("enabled", False)),
        clients=None if clients is None else tuple(dict(peer) for peer in clients),
    )


def peer_problems(peer: Mapping[str, Any], field: str) -> list[str]:
    """Why the API server would refuse `peer` in a NetworkPolicy's `from`, each a sentence."""
    selectors = [key for key in ("podSelector", "namespaceSelector") if key in peer]
    if "ipBlock" in peer:
        if selectors:
            return [f"{field}: {schema.NETWORK_POLICY_IP_BLOCK_ALONE}"]
        return _ip_block_problems(peer["ipBlock"], f"{field}.ipBlock")
    if not selectors:
        return [f"{field}: {schema.NETWORK_POLICY_EMPTY_PEER}"]
    return [
        problem for key in selectors for problem in _selector_problems(peer[key], f"{field}.{key}")
    ]


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """The network `text` names with its bits after the prefix cleared, or None if it is no
    CIDR to the API server."""
    if not _CIDR_SHAPE.fullmatch(text):
        return None
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped:
        return None
    return network


def _ip_block_problems(block: Mapping[str, Any], field: str) -> list[str]:
    text = str(block["cidr"])
    network = _network(text)
    if network is None:
        return [f"{field}.cidr {text!r}: {schema.NETWORK_POLICY_NOT_A_CIDR}"]
    problems = []
    if ipaddress.ip_interface(text).ip != network.network_address:
        problems.append(f"{field}.cidr {text!r}: {schema.NETWORK_POLICY_HOST_BITS}")
    for index, excluded in enumerate(block.get("except") or ()):
        inner = _network(str(excluded))
        inside = (
            inner is not None
            and ipaddress.ip_interface(str(excluded)).ip == inner.network_address
            and inner.version == network.version
            and inner.prefixlen > network.prefixlen
            and inner.subnet_of(network)  # type: ignore[arg-type]
        )
        if not inside:
            problems.append(f"{field}.except[{index}] {excluded!r}: {schema.NETWORK_POLICY_EXCEPT}")
    return problems


def _selector_problems(selector: Mapping[str, Any], field: str) -> list[str]:
    """Kubernetes' rules for a label selector: label keys and values, and each expression's
    operator with values (In, NotIn) or without (Exists, DoesNotExist)."""
    problems = kubernetes_names.label_problems(
        selector.get("matchLabels") or {}, f"{field}.matchLabels"
    )
    for index, expression in enumerate(selector.get("matchExpressions") or ()):
        where = f"{field}.matchExpressions[{index}]"
        key_problem = kubernetes_names.qualified_name_problem(expression["key"])
        if key_problem:
            problems.append(f"{where}.key {expression['key']!r} {key_problem}")
        operator, values = expression["operator"], expression.get("values") or []
        if operator not in _SELECTOR_OPERATORS:
            problems.append(
                f"{where}.operator {operator!r} must be one of {', '.join(_SELECTOR_OPERATORS)}"
            )
        elif _SELECTOR_OPERATORS[operator] and not values:
            problems.append(f"{where}: operator {operator} needs values")
        elif not _SELECTOR_OPERATORS[operator] and values:
            problems.append(f"{where}: operator {operator} takes no values")
        for value in values:
            value_problem = kubernetes_names.label_value_problem(value)
            if value_problem:
                problems.append(f"{where}.values: {value!r} {value_problem}")
    return problems
