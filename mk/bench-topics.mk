# KafkaTopics at scale on the e2e node (bench/topics.py, docs/e2e.md "Topics benchmark"): 10,000
# KafkaTopics applied at once to a 3 + 3 node cluster, then 20,000, each size on a fresh cluster
# and a fresh operator: the time until every one is Ready with its topic in Kafka, the topic Jobs
# it took, the operator's peak RSS and the API writes per topic (issue 11's goals: 10,000 Ready in
# under 2 minutes with the operator under 150 MB; 20,000 without failure). Needs root. Brings the
# e2e node up if it is down and leaves it running (`make e2e-down` stops it). Each size makes a
# cluster (about 2 minutes), applies, waits and checks every topic in Kafka, then removes it all
# (seconds). 10,000 with the reference took 10 minutes here. 20,000 needs brokers that may hold
# more than 20,000 open files (a file per partition's segment: docs/operations.md); on a machine
# whose containers get 20,000 (e2e/node.sh says so at start-up) its brokers stop. Writes
# bench/results/topics.json.
#
# The reference column (issue 11: kopfka at most half the time and memory of the reference): at
# 10,000 (BENCH_TOPICS_PEER_SIZES) it also runs Strimzi's topic operator with the same topics on a
# fresh cluster of the same spec (bench/topics_peer.py), if `make bench-peer-strimzi` has built
# it; else the report says `peer: {skipped: ...}`. The benchmark never builds it.
# BENCH_TOPICS_PEER_ENV: more environment for it (with its default queue of 1024 it stops itself
# when 10,000 KafkaTopics come at once; 16384 lets it go on, within its pod's 256Mi).
BENCH_TOPICS_SIZES ?= 10000,20000
BENCH_TOPICS_PEER_SIZES ?= 10000
BENCH_TOPICS_READY_TIMEOUT ?= 1200
BENCH_TOPICS_OTHERS_TIMEOUT ?= 600
BENCH_TOPICS_PEER_ENV ?= STRIMZI_MAX_QUEUE_SIZE=16384

# Strimzi from source for that column, with ../shared/peers/strimzi/build.sh (Maven Central; needs
# Java 21+ under /usr/lib/jvm; tens of minutes with a cold ~/.m2, minutes with a warm one; about
# 1.4 GB). STRIMZI_GIT is any git repository of strimzi/strimzi-kafka-operator (a local clone
# where GitHub is out of reach); STRIMZI_COMMIT is the one build.sh is known to work at.
STRIMZI_GIT ?= https://github.com/strimzi/strimzi-kafka-operator.git
STRIMZI_COMMIT ?= 8541da1e336bdcda9647aeacfbc2048e57580a52
STRIMZI_SRC ?= $(HOME)/.cache/kopfka-peers/strimzi
PEERS_DIR ?= ../shared/peers

.PHONY: bench-topics bench-peer-strimzi
bench-topics: $(STAMP) e2e-up operator-image  ## 10,000 then 20,000 KafkaTopics at once on the e2e node: time to Ready, Jobs, operator RSS, API writes; beside Strimzi's if built
	e2e/node.sh images >/dev/null
	$(PY) -m bench.topics --sizes $(BENCH_TOPICS_SIZES) --peer-sizes '$(BENCH_TOPICS_PEER_SIZES)' \
		--peer-src $(STRIMZI_SRC) --peers-dir $(PEERS_DIR) \
		$(foreach e,$(BENCH_TOPICS_PEER_ENV),--peer-env $(e)) \
		--ready-timeout $(BENCH_TOPICS_READY_TIMEOUT) --others-timeout $(BENCH_TOPICS_OTHERS_TIMEOUT) \
		--output bench/results/topics.json

bench-peer-strimzi:  ## build Strimzi's topic operator from source (STRIMZI_GIT) for bench-topics' reference column
	[ -d $(STRIMZI_SRC)/.git ] || { git clone -q --no-checkout $(STRIMZI_GIT) $(STRIMZI_SRC) \
		&& git -C $(STRIMZI_SRC) checkout -q $(STRIMZI_COMMIT); }
	$(PEERS_DIR)/strimzi/build.sh $(STRIMZI_GIT) $(STRIMZI_SRC)
