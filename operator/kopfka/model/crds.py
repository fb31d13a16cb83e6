"""CustomResourceDefinitions generated from the schemas in `schema.py`.

`python -m kopfka.model.crds DIR` writes them; a unit test fails when crds/ drifts from this.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from kopfka.model import names, schema
from kopfka.model.schema_dsl import Schema, obj, rule

ROOT_DESCRIPTIONS = {
    "apiVersion": "APIVersion of the object.",
    "kind": "Kind of the object.",
}


def _root(
    kind_description: str,
    spec: Schema,
    status: Schema,
    *,
    required: bool,
    rules: list[Schema] | None = None,
) -> Schema:
    properties: dict[str, Schema] = {
        "apiVersion": {"type": "string", "description": ROOT_DESCRIPTIONS["apiVersion"]},
        "kind": {"type": "string", "description": ROOT_DESCRIPTIONS["kind"]},
        # The API server allows nothing but a type on the root metadata.
        "metadata": {"type": "object"},
        "spec": spec,
        "status": status,
    }
    return obj(kind_description, properties, required=["spec"] if required else None, rules=rules)


def _crd(
    *,
    kind: str,
    plural: str,
    short: str,
    description: str,
    spec: Schema,
    status: Schema,
    columns: list[dict[str, Any]],
    rules: list[Schema] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{names.GROUP}",
            "labels": {"app.kubernetes.io/name": "kopfka", "app.kubernetes.io/part-of": "kopfka"},
        },
        "spec": {
            "group": names.GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": [short],
                "categories": ["kopfka", "kafka"],
            },
            "versions": [
                {
                    "name": names.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                    "schema": {
                        "openAPIV3Schema": _root(
                            description, spec, status, required=True, rules=rules
                        )
                    },
                }
            ],
        },
    }


def _ready_column() -> dict[str, Any]:
    return {
        "name": "Ready",
        "type": "string",
        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
    }


def _age_column() -> dict[str, Any]:
    return {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}


def kafka_cluster_crd() -> dict[str, Any]:
    return _crd(
        kind=names.CLUSTER_KIND,
        plural=names.CLUSTER_PLURAL,
        short="kc",
        description="A KRaft Kafka cluster: a controller quorum and brokers, run by kopfka.",
        spec=schema.cluster_spec(),
        status=schema.cluster_status(),
        rules=[
            rule(
                f"size(self.metadata.name) <= {names.CLUSTER_NAME_MAX} && "
                f"self.metadata.name.matches('{names.CLUSTER_NAME_PATTERN}')",
                names.CLUSTER_NAME_RULE,
            )
        ],
        columns=[
            _ready_column(),
            {"name": "Brokers", "type": "integer", "jsonPath": ".status.readyBrokers"},
            {"name": "Version", "type": "string", "jsonPath": ".status.kafkaVersion"},
            {
                "name": "Bootstrap",
                "type": "string",
                "jsonPath": ".status.bootstrapServers",
                "priority": 1,
            },
            _age_column(),
        ],
    )


def kafka_topic_crd() -> dict[str, Any]:
    return _crd(
        kind=names.TOPIC_KIND,
        plural=names.TOPIC_PLURAL,
        short="kt",
        description="A Kafka topic in a KafkaCluster of the same namespace.",
        spec=schema.topic_spec(),
        status=schema.topic_status(),
        columns=[
            _ready_column(),
            {"name": "Cluster", "type": "string", "jsonPath": ".spec.cluster"},
            {"name": "Partitions", "type": "integer", "jsonPath": ".status.partitions"},
            {"name": "Replicas", "type": "integer", "jsonPath": ".status.replicationFactor"},
            _age_column(),
        ],
    )


def kafka_user_crd() -> dict[str, Any]:
    return _crd(
        kind=names.USER_KIND,
        plural=names.USER_PLURAL,
        short="ku",
        description="A Kafka user of a KafkaCluster in the same namespace: its SCRAM-SHA-512 "
        "credential and quotas.",
        spec=schema.user_spec(),
        status=schema.user_status(),
        rules=[
            rule(
                "!has(self.spec.authentication) || !has(self.spec.authentication.password) || "
                "self.spec.authentication.password.valueFrom.secretKeyRef.name != "
                "self.metadata.name",
                schema.USER_PASSWORD_OWN_SECRET,
            )
        ],
        columns=[
            _ready_column(),
            {"name": "Cluster", "type": "string", "jsonPath": ".spec.cluster"},
            {"name": "Authentication", "type": "string", "jsonPath": ".spec.authentication.type"},
            {"name": "Secret", "type": "string", "jsonPath": ".status.secret"},
            _age_column(),
        ],
    )


def all_crds() -> dict[str, dict[str, Any]]:
    """File name -> CRD."""
    return {
        f"{names.CLUSTER_PLURAL}.yaml": kafka_cluster_crd(),
        f"{names.TOPIC_PLURAL}.yaml": kafka_topic_crd(),
        f"{names.USER_PLURAL}.yaml": kafka_user_crd(),
    }


def to_yaml(crd: dict[str, Any]) -> str:
    header = "# Generated by `make crds` from operator/kopfka/model/schema.py. Do not edit.\n"
    return header + yaml.safe_dump(crd, sort_keys=False, width=100)


def main(argv: list[str]) -> int:
    target = Path(argv[1] if len(argv) > 1 else "crds")
    target.mkdir(parents=True, exist_ok=True)
    for file_name, crd in all_crds().items():
        (target / file_name).write_text(to_yaml(crd))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
