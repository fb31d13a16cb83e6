# KafkaTopics at scale on the e2e node (bench/topics.py, docs/e2e.md "Topics benchmark"): 10,000
# KafkaTopics applied at once to a 3 + 3 node cluster, then 20,000, each size on a fresh cluster
# and a fresh operator: the time until every one is Ready with its topic in Kafka, the topic Jobs
# it took, the operator's peak RSS and the API writes per topic (issue 11's goals: 10,000 Ready in
# under 2 minutes with the operator under 150 MB; 20,000 without failure). Needs root. Brings the
# e2e node up if it is down and leaves it running (`make e2e-down` stops it). Each size makes a
# cluster (about 2 minutes), applies, waits and checks every topic in Kafka, then removes it all
# (seconds). A 300-topic check took 4 minutes; the two sizes have not been run yet, so expect
# anything from half an hour to an hour on a 2-core machine. Writes bench/results/topics.json.
BENCH_TOPICS_SIZES ?= 10000,20000
BENCH_TOPICS_READY_TIMEOUT ?= 1200
BENCH_TOPICS_OTHERS_TIMEOUT ?= 600

.PHONY: bench-topics
bench-topics: $(STAMP) e2e-up operator-image  ## 10,000 then 20,000 KafkaTopics at once on the e2e node: time to Ready, Jobs, operator RSS, API writes
	e2e/node.sh images >/dev/null
	$(PY) -m bench.topics --sizes $(BENCH_TOPICS_SIZES) \
		--ready-timeout $(BENCH_TOPICS_READY_TIMEOUT) --others-timeout $(BENCH_TOPICS_OTHERS_TIMEOUT) \
		--output bench/results/topics.json
