"""The `kopfka` command: `kopfka run` starts the operator (optionally as one of several replicas,
of which the holder of a Lease acts), `kopfka crds` prints the CRDs, `kopfka topics-apply` is the
topic Job's command, `kopfka users-apply` the user Job's, `kopfka rebalance-apply` the rebalance
Job's."""

from __future__ import annotations

import argparse
import contextlib
import http.server
import os
import socket
import sys
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path

import kopf

import kopfka.handlers  # noqa: F401  (importing registers the handlers with kopf)
from kopfka import metrics
from kopfka.k8s import connection
from kopfka.k8s.client import Kube
from kopfka.k8s.lease import LeaderElector, LeaseSettings
from kopfka.kafka.admin import KafkaPythonAdmin, KafkaUnavailable
from kopfka.kafka.tls import context_from_files
from kopfka.model import crds, names
from kopfka.rebalance import wire as rebalance_wire
from kopfka.rebalance.execute import POLL_SECONDS, ThrottleRefused, run_rebalance
from kopfka.topics import wire
from kopfka.topics.batch import run_batch
from kopfka.users import batch as user_batch
from kopfka.users import wire as user_wire

# The exit code of a replica that lost its Lease: its pod restarts, as a standby.
LOST_LEASE_EXIT = 75
# The exit code of a Job that could not reach Kafka (sysexits' EX_UNAVAILABLE): the Job retries.
KAFKA_UNAVAILABLE_EXIT = 69
# The exit code of a rebalance Job that Kafka refused moves or throttles: the Job shows Failed.
REBALANCE_REFUSED_EXIT = 1


LOG_FORMATS = {"text": kopf.LogFormat.FULL, "json": kopf.LogFormat.JSON}


def _run(args: argparse.Namespace) -> int:
    kopf.configure(verbose=args.verbose, log_format=LOG_FORMATS[args.log_format])
    _check_connection()
    if args.metrics_port is not None:
        # Standbys too: their process metrics show they are there, their counters stay at 0.
        metrics.serve(args.metrics_port)
    if not args.leader_election:
        _run_kopf(args)
        return 0
    elector = _elector(args)
    # kopf serves its health endpoint only once it runs; a standby must look alive meanwhile.
    with _standby_health(args.liveness):
        elector.acquire()
    # Acting without the Lease could reconcile next to the new holder: stop at once.
    elector.keep(on_lost=lambda: os._exit(LOST_LEASE_EXIT))
    try:
        _run_kopf(args)
    finally:
        elector.release()
    return 0


def _check_connection() -> None:
    """Stop at once, saying why, when the kubeconfig cannot be used (an exec plugin, a missing
    file): it never will be. With no configuration at all, kopf's startup keeps trying, as it
    would while a mounted service account token is not there yet."""
    try:
        connection.from_environment()
    except connection.NoConfig:
        return
    except connection.ConfigError as error:
        raise SystemExit(f"kopfka: {error}") from error


@contextlib.contextmanager
def _standby_health(endpoint: str | None) -> Iterator[None]:
    """Answer the liveness endpoint (200, "standby") while this replica waits for the Lease."""
    if endpoint is None:
        yield
        return
    url = urllib.parse.urlsplit(endpoint)
    path = url.path or "/"

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path.split("?")[0] == path
            self.send_response(200 if found else 404)
            self.end_headers()
            if found:
                self.wfile.write(b"standby\n")

        def log_message(self, *_: object) -> None:  # probes every few seconds: keep logs quiet
            pass

    server = http.server.ThreadingHTTPServer((url.hostname or "0.0.0.0", url.port or 80), Health)
    thread = threading.Thread(target=server.serve_forever, name="standby-health", daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()


def _elector(args: argparse.Namespace) -> LeaderElector:
    namespace = args.lease_namespace or os.environ.get("KOPFKA_OPERATOR_NAMESPACE")
    if not namespace:
        raise SystemExit("--leader-election needs --lease-namespace or KOPFKA_OPERATOR_NAMESPACE")
    # The pod name when in a pod (HOSTNAME), made unique: a restarted process is a new holder.
    identity = f"{os.environ.get('HOSTNAME') or socket.gethostname()}-{uuid.uuid4().hex[:8]}"
    return LeaderElector(
        Kube.from_environment(),
        LeaseSettings(
            name=args.lease_name,
            namespace=namespace,
            identity=identity,
            duration=args.lease_duration,
            renew_deadline=args.lease_duration * 2 / 3,
            retry_period=args.lease_duration * 2 / 15,
        ),
    )


def _run_kopf(args: argparse.Namespace) -> None:
    settings = kopf.OperatorSettings()
    # Restricted to namespaces, the operator sends no cluster-scoped request, so a Role in each
    # namespace is all it needs: kopf would otherwise list and watch Namespaces (for namespace
    # patterns) and CustomResourceDefinitions (for kinds installed later) across the cluster.
    # So namespaces are exact names, and the CRDs must be installed before the operator starts.
    settings.scanning.disabled = bool(args.namespace)
    kopf.run(
        # No kopf peering: it pauses every replica of equal priority; standbys use a Lease.
        standalone=True,
        clusterwide=not args.namespace,
        namespaces=args.namespace or (),
        liveness_endpoint=args.liveness,
        settings=settings,
        # The KafkaTopic informer (handlers/topic.py) watches the same namespaces.
        memo=kopf.Memo(namespaces=tuple(args.namespace or ())),
    )


def _crds(_: argparse.Namespace) -> int:
    sys.stdout.write("---\n".join(crds.to_yaml(crd) for crd in crds.all_crds().values()))
    return 0


def _topics_apply(args: argparse.Namespace) -> int:
    """Carry out a topic plan's work: an outcome line per topic and change on stdout as Kafka
    answers, then a summary line (formats in kopfka.topics.wire). Topics Kafka refuses are
    outcomes, not failures: the command fails only when it cannot carry the work out."""
    try:
        work = wire.read_work_file(Path(args.work).read_bytes())
    except (OSError, EOFError, ValueError) as error:
        raise SystemExit(
            f"kopfka topics-apply: cannot read the work in {args.work}: {error}"
        ) from None

    def report(outcome: wire.Outcome) -> None:
        sys.stdout.write(wire.outcome_line(outcome) + "\n")
        sys.stdout.flush()

    started = time.monotonic()
    try:
        admin = _job_admin(args, client_id="kopfka")
        try:
            outcomes = run_batch(admin, work, report=report)
        finally:
            admin.close()
    except KafkaUnavailable as error:
        sys.stderr.write(
            f"kopfka topics-apply: Kafka at {args.bootstrap_servers} cannot be reached or did "
            f"not answer within {args.timeout:g}s ({error}); the work was not finished\n"
        )
        return KAFKA_UNAVAILABLE_EXIT
    sys.stdout.write(wire.summary_line(outcomes, seconds=time.monotonic() - started) + "\n")
    return 0


# The exit code of a user Job whose changes Kafka refused: the Job shows Failed.
USERS_REFUSED_EXIT = 1


def _users_apply(args: argparse.Namespace) -> int:
    """Carry out a user plan's work: an outcome line per user and change on stdout as Kafka
    answers, then a summary line (formats in kopfka.users.wire). Fails when Kafka refused any
    change, so the Job shows it; passwords are read from files under --passwords, never
    printed."""
    try:
        work = user_wire.read_work_file(Path(args.work).read_bytes())
    except (OSError, ValueError) as error:
        raise SystemExit(
            f"kopfka users-apply: cannot read the work in {args.work}: {error}"
        ) from None

    def report(outcome: user_wire.Outcome) -> None:
        sys.stdout.write(user_wire.outcome_line(outcome) + "\n")
        sys.stdout.flush()

    try:
        admin = _job_admin(args, client_id="kopfka-users")
        try:
            outcomes = user_batch.run_batch(
                admin, work, passwords=Path(args.passwords), report=report
            )
        finally:
            admin.close()
    except KafkaUnavailable as error:
        sys.stderr.write(
            f"kopfka users-apply: Kafka at {args.bootstrap_servers} cannot be reached or did "
            f"not answer within {args.timeout:g}s ({error}); the work was not finished\n"
        )
        return KAFKA_UNAVAILABLE_EXIT
    sys.stdout.write(user_wire.summary_line(outcomes) + "\n")
    return 0 if all(outcome.ok for outcome in outcomes) else USERS_REFUSED_EXIT


def _rebalance_apply(args: argparse.Namespace) -> int:
    """Carry out a rebalance's work: a JSON line per event on stdout (formats in
    kopfka.rebalance.wire), then a summary line. Moves Kafka refuses fail the command at the end,
    with one line on stderr that names them (the line the operator reads from a failed Job)."""
    try:
        work = rebalance_wire.read_work_file(Path(args.work).read_bytes())
    except (OSError, ValueError) as error:
        raise SystemExit(
            f"kopfka rebalance-apply: cannot read the work in {args.work}: {error}"
        ) from None

    def report(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        admin = _job_admin(args, client_id="kopfka-rebalance")
        try:
            result = run_rebalance(admin, work, report=report, poll_seconds=args.poll)
        finally:
            admin.close()
    except KafkaUnavailable as error:
        sys.stderr.write(
            f"kopfka rebalance-apply: Kafka at {args.bootstrap_servers} cannot be reached or did "
            f"not answer within {args.timeout:g}s ({error}); the reassignments already started "
            "go on in Kafka, and running the same work again takes them up\n"
        )
        return KAFKA_UNAVAILABLE_EXIT
    except ThrottleRefused as error:
        sys.stderr.write(f"{rebalance_wire.REFUSAL_PREFIX}{error}\n")
        return REBALANCE_REFUSED_EXIT
    if not result.ok:
        sys.stderr.write(rebalance_wire.refusal_line(result.problems(), moves=result.moves) + "\n")
        return REBALANCE_REFUSED_EXIT
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
    run.add_argument(
        "--leader-election",
        action="store_true",
        help="act only while holding a Lease, so that further replicas stand by",
    )
    run.add_argument("--lease-name", default="kopfka", help="the Lease's name (default: kopfka)")
    run.add_argument(
        "--lease-namespace", help="the Lease's namespace (default: $KOPFKA_OPERATOR_NAMESPACE)"
    )
    run.add_argument(
        "--lease-duration",
        type=float,
        default=15.0,
        help="seconds without renewal after which a standby takes over (default: 15)",
    )
    run.add_argument(
        "--liveness", help="serve a liveness endpoint, e.g. http://0.0.0.0:8080/healthz"
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        help="serve the operator's Prometheus metrics on this port, at /metrics (default: off)",
    )
    run.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    run.add_argument(
        "--log-format",
        choices=sorted(LOG_FORMATS),
        default="text",
        help="text (default) or json: one JSON object per line, for log collectors",
    )
    run.set_defaults(func=_run)
    crd = commands.add_parser("crds", help="print the CustomResourceDefinitions as YAML")
    crd.set_defaults(func=_crds)
    topics = _job_command(
        commands,
        "topics-apply",
        help="carry out a topic plan's work in Kafka (the topic Job's command)",
        timeout="seconds to wait for Kafka: to connect, and for each answer (default: 60)",
    )
    topics.set_defaults(func=_topics_apply)
    users = _job_command(
        commands,
        "users-apply",
        help="set and delete KafkaUsers' SCRAM credentials and quotas in Kafka (the user Job's "
        "command)",
        timeout="seconds to wait for Kafka: to connect, and for each answer (default: 60)",
    )
    users.add_argument(
        "--passwords",
        required=True,
        help="the directory holding each user's password in a file of the user's name",
    )
    users.set_defaults(func=_users_apply)
    rebalance = _job_command(
        commands,
        "rebalance-apply",
        help="carry out a rebalance's partition reassignments in Kafka (the rebalance Job's "
        "command)",
        timeout="seconds to wait for Kafka: to connect, and for each answer (default: 60); the "
        "reassignments themselves take as long as their data takes to copy",
    )
    rebalance.add_argument(
        "--poll",
        type=float,
        default=POLL_SECONDS,
        help=f"seconds between two looks at the moves in flight (default: {POLL_SECONDS:g})",
    )
    rebalance.set_defaults(func=_rebalance_apply)
    return root


def _job_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    help: str,
    timeout: str,
) -> argparse.ArgumentParser:
    """A command an operator Job runs over its work file (render/operator_job.py)."""
    command = commands.add_parser(name, help=help)
    command.add_argument(
        "--bootstrap-servers", required=True, help="HOST:PORT[,HOST:PORT...] of the brokers"
    )
    command.add_argument(
        "--work", required=True, help="the work file (JSON, or gzip-compressed JSON)"
    )
    command.add_argument("--timeout", type=float, default=60.0, help=timeout)
    command.add_argument(
        "--tls-dir",
        help="connect over TLS with the operator's certificate: a directory holding its key "
        f"store ({names.OPERATOR_KEY_STORE}) and the CAs it trusts ({names.OPERATOR_TRUST})",
    )
    return command


def _job_admin(args: argparse.Namespace, *, client_id: str) -> KafkaPythonAdmin:
    """The admin client of a Job's command: --bootstrap-servers, and with --tls-dir over TLS."""
    timeout_ms = int(args.timeout * 1000)
    context = None
    if args.tls_dir is not None:
        directory = Path(args.tls_dir)
        context = context_from_files(
            str(directory / names.OPERATOR_KEY_STORE), str(directory / names.OPERATOR_TRUST)
        )
    return KafkaPythonAdmin(
        args.bootstrap_servers,
        client_id=client_id,
        timeout_ms=timeout_ms,
        connect_timeout_ms=timeout_ms,
        ssl_context=context,
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
