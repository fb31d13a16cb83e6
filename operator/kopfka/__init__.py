"""kopfka: a Kubernetes operator for Apache Kafka (KRaft), written on kopf."""

__version__ = "0.1.0"
