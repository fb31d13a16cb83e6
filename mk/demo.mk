# The README's first command: kopfka on a real node of this machine (e2e/demo.sh), with a 3-node
# Kafka cluster, a topic and an example producer and consumer. Builds what it needs on the way
# (Kubernetes tools, the broker and operator images, the node's parts; cached in $(KOPFKA_CACHE)).
# Needs root.

.PHONY: demo demo-down

demo: tools broker-image operator-image  ## kopfka, a 3-node Kafka cluster, a topic, a producer and a consumer on a local node
	e2e/demo.sh up

demo-down:  ## remove the demo, uninstall kopfka and stop the local node
	e2e/demo.sh down
