# Producer throughput with the Prometheus JMX exporter on against off, scraped every 5 s as
# Prometheus would, and the exporter's memory per broker, on local KRaft clusters (1 controller +
# 3 brokers) started as the Kafka tier starts them (bench/metrics.py, docs/monitoring.md
# "Benchmark"). Needs root and a JDK's jcmd. About 10 minutes on 2 idle cores, 14 on a busy
# machine; writes bench/results/metrics.json.
BENCH_METRICS_ROUNDS ?= 3
BENCH_METRICS_RECORDS ?= 60000
BENCH_METRICS_WARMUP ?= 30000
BENCH_METRICS_SCRAPE_INTERVAL ?= 5

.PHONY: bench-metrics
bench-metrics: $(STAMP)  ## producer throughput with the JMX exporter on vs off, its memory per broker and scrape cost
	hack/kafka-libs.sh >/dev/null
	broker-image/agent/build.sh >/dev/null
	broker-image/jmx-exporter.sh >/dev/null
	$(PY) -m bench.metrics --rounds $(BENCH_METRICS_ROUNDS) --records $(BENCH_METRICS_RECORDS) \
		--warmup-records $(BENCH_METRICS_WARMUP) --scrape-interval $(BENCH_METRICS_SCRAPE_INTERVAL) \
		--output bench/results/metrics.json
