"""The probe agent answers the kubelet's HTTP probes from inside each node's JVM: ready only while
the node serves in Kafka's own terms, live as long as the JVM works (docs/broker-image.md)."""

from __future__ import annotations

import urllib.error
import urllib.request
from http import HTTPStatus

from kopfka.model import schema
from tests.kafka.localkafka import LocalKafka, Node, wait_for


def ask(node: Node, path: str, *, method: str = "GET") -> tuple[int, str]:
    """(HTTP status, body) of the node's probe agent on `path`."""
    request = urllib.request.Request(
        f"http://{node.address}:{schema.PROBE_PORT}{path}", method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_every_running_node_answers_ready_and_live(kafka: LocalKafka) -> None:
    for node in kafka.nodes:
        assert ask(node, "/ready") == (HTTPStatus.OK, "ok\n"), node.pod
        assert ask(node, "/live") == (HTTPStatus.OK, "ok\n"), node.pod
        # The kubelet's httpGet is a GET; nothing else is taken for a probe.
        assert ask(node, "/ready", method="POST")[0] == HTTPStatus.METHOD_NOT_ALLOWED


def test_a_controller_without_a_quorum_is_live_but_not_ready(kafka: LocalKafka) -> None:
    survivor, *others = kafka.controllers
    try:
        for node in others:
            kafka.kill_node(node)

        def not_ready() -> str | None:
            status, body = ask(survivor, "/ready")
            return body if status == HTTPStatus.SERVICE_UNAVAILABLE else None

        reason = wait_for(f"{survivor.pod} not ready", not_ready, timeout=60)
        # The reason names the quorum state that is missing (a voter neither leading nor following).
        assert reason.startswith("raft current-state=")
        assert not reason.startswith(("raft current-state=leader ", "raft current-state=follower "))
        # Losing the quorum is not a dead JVM: restarting this controller would not help.
        assert ask(survivor, "/live") == (HTTPStatus.OK, "ok\n")
    finally:
        for node in others:
            if not node.running:
                kafka.start_node(node)
        kafka.wait_ready()
    assert ask(survivor, "/ready") == (HTTPStatus.OK, "ok\n")
