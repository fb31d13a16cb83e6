# Producer throughput of the operator-rendered broker config against Kafka's defaults, and cluster
# startup times, on local KRaft clusters started as the Kafka tier starts them
# (bench/kafka_throughput.py). Needs root. About 5 minutes on 2 idle cores, 7+ on a busy machine;
# writes bench/results/kafka.json.
BENCH_KAFKA_ROUNDS ?= 3
BENCH_KAFKA_RECORDS ?= 60000
BENCH_KAFKA_WARMUP ?= 30000

.PHONY: bench-kafka
bench-kafka: $(STAMP)  ## producer throughput, rendered broker config vs Kafka defaults, and startup times
	hack/kafka-libs.sh >/dev/null
	broker-image/agent/build.sh >/dev/null
	broker-image/jmx-exporter.sh >/dev/null
	$(PY) -m bench.kafka_throughput --rounds $(BENCH_KAFKA_ROUNDS) --records $(BENCH_KAFKA_RECORDS) \
		--warmup-records $(BENCH_KAFKA_WARMUP) --output bench/results/kafka.json

