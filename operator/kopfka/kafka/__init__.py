"""The only code that talks to Kafka: a small admin interface and its implementation."""
