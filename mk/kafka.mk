# The real-Kafka tier: KRaft clusters as local processes, started by the broker image's entrypoint
# with the configuration the operator renders (tests/kafka/localkafka.py). Needs root.

.PHONY: test-kafka
test-kafka: $(STAMP)  ## real Kafka brokers from the rendered config (assembles the jars it needs)
	hack/kafka-libs.sh >/dev/null
	broker-image/agent/build.sh >/dev/null
	broker-image/jmx-exporter.sh >/dev/null
	$(PY) -m pytest tests/kafka
