"""What the benchmarks on the e2e node share: they install kopfka as their own release watching
their own namespace, and must not share that namespace with another kopfka operator (the demo's
watches every namespace), which would reconcile the benchmark's objects too."""

from __future__ import annotations

from tests.support.kube import TestKube
from tests.support.waiting import wait_for


def other_operators(kube: TestKube, *, own_namespace: str, watched: str) -> list[str]:
    """kopfka operators outside `own_namespace` (where the benchmark's runs) that watch
    `watched` too: two operators on one cluster fight over it."""
    found = []
    for deploy in kube.list("apps/v1", "Deployment"):
        namespace, name = deploy["metadata"]["namespace"], deploy["metadata"]["name"]
        if namespace == own_namespace or not deploy["spec"].get("replicas", 1):
            continue
        for container in deploy["spec"]["template"]["spec"]["containers"]:
            if "kopfka/operator" not in container.get("image", ""):
                continue
            argv = [*(container.get("command") or []), *(container.get("args") or [])]
            namespaces = {
                value
                for flag, value in zip(argv, [*argv[1:], ""], strict=True)
                if flag in ("-n", "--namespace")
            } | {a.split("=", 1)[1] for a in argv if a.startswith("--namespace=")}
            if not namespaces or watched in namespaces:
                found.append(
                    f"{namespace}/{name} (watches {sorted(namespaces) or 'all namespaces'})"
                )
    return found


def wait_alone(kube: TestKube, timeout: float, *, own_namespace: str, watched: str) -> None:
    """Wait up to `timeout` seconds until no other kopfka operator watches `watched`."""
    others = other_operators(kube, own_namespace=own_namespace, watched=watched)
    if others:
        print(f"  waiting up to {timeout:.0f} s for other kopfka operators to go: {others}")
        wait_for(
            lambda: not other_operators(kube, own_namespace=own_namespace, watched=watched),
            timeout=timeout,
            interval=5.0,
            what=(
                f"no other kopfka operator watching {watched} ({others}); it would reconcile "
                "the benchmark's objects too: run the benchmark when the e2e suite or demo is done"
            ),
        )
