# Kafka's own config definitions as JSON tables for the Python model (docs/kafka-config-tables.md),
# generated from the jars of both served Kafka releases by a small Java tool
# (hack/kafka-config-tool.sh). tests/kafka/test_kafka_config_tables.py fails when they drift.

KAFKA_CONFIG_TABLES := operator/kopfka/model/kafka_configs
KAFKA_CONFIG_TOOL_MAIN := dev.kopfka.tools.KafkaConfigTool

.PHONY: kafka-config-tables
kafka-config-tables:  ## regenerate operator/kopfka/model/kafka_configs/*.json from the Kafka jars
	mkdir -p $(KAFKA_CONFIG_TABLES)
	set -euo pipefail; for version in $(KAFKA_VERSION) $(KAFKA_PREVIOUS_VERSION); do \
	  classpath=$$(hack/kafka-config-tool.sh $$version | tail -n1); \
	  java -cp "$$classpath" $(KAFKA_CONFIG_TOOL_MAIN) table \
	    --output $(KAFKA_CONFIG_TABLES)/$$version.json; \
	  echo "wrote $(KAFKA_CONFIG_TABLES)/$$version.json"; \
	done

# The -XX product flags of the JVM the broker image runs (Java 17), which the model checks
# spec.*.jvm.options against; tests/kafka/test_kafka_config_tables.py fails when they drift.
.PHONY: jvm-flags
jvm-flags: $(STAMP)  ## regenerate operator/kopfka/model/jvm_flags.json from the JDK's -XX:+PrintFlagsFinal
	$(PY) hack/gen-jvm-flags.py
