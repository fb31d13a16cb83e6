"""KafkaUser: the pure planner, the user Job's work format and batch, and the per-cluster sync."""
