"""KafkaTopic planning (pure: desired KafkaTopics + Kafka's topics -> a plan and per-resource
verdicts) and, later, the batch that the topic Job runs to carry a plan out."""
