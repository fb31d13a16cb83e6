"""The `kopfka` command: `kopfka run` starts the operator, `kopfka crds` prints the CRDs."""

from __future__ import annotations

import argparse
import sys

import kopf

import kopfka.handlers  # noqa: F401  (importing registers the handlers with kopf)
from kopfka.model import crds


def _run(args: argparse.Namespace) -> int:
    kopf.configure(verbose=args.verbose)
    settings = kopf.OperatorSettings()
    # Restricted to namespaces, the operator sends no cluster-scoped request, so a Role in each
    # namespace is all it needs: kopf would otherwise list and watch Namespaces (for namespace
    # patterns) and CustomResourceDefinitions (for kinds installed later) across the cluster.
    # So namespaces are exact names, and the CRDs must be installed before the operator starts.
    settings.scanning.disabled = bool(args.namespace)
    kopf.run(
        standalone=args.peering is None,
        peering_name=args.peering,
        clusterwide=not args.namespace,
        namespaces=args.namespace or (),
        liveness_endpoint=args.liveness,
        settings=settings,
    )
    return 0


def _crds(_: argparse.Namespace) -> int:
    sys.stdout.write("---\n".join(crds.to_yaml(crd) for crd in crds.all_crds().values()))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="kopfka", description="A Kubernetes operator for Kafka.")
    commands = root.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the operator")
    run.add_argument(
        "-n",
        "--namespace",
        action="append",
        help="watch only this namespace (repeatable, exact names); default: all namespaces",
    )
    run.add_argument("--peering", help="kopf peering name, for several operator replicas")
    run.add_argument(
        "--liveness", help="serve a liveness endpoint, e.g. http://0.0.0.0:8080/healthz"
    )
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run.set_defaults(func=_run)
    crd = commands.add_parser("crds", help="print the CustomResourceDefinitions as YAML")
    crd.set_defaults(func=_crds)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
