"""Settings Kafka applies live, kept in effect on the running brokers through settings Jobs."""
