# The broker image (docs/broker-image.md): Kafka jars from Maven Central, the probe
# agent, a JRE base image from the Debian archive and kopfka/kafka:<version>.
# Everything lands in $(KOPFKA_CACHE) keyed by version; every target is safe to re-run.
#
#   make broker-image KAFKA_VERSION=4.3.1             another served Kafka release
#   make broker-image BASE_IMAGE=eclipse-temurin:21-jre   a registry base instead of the local one

BROKER_VERSIONS := broker-image/versions.env
KAFKA_VERSION ?= $(shell sed -n 's/^KAFKA_VERSION=//p' $(BROKER_VERSIONS))
KAFKA_PREVIOUS_VERSION ?= $(shell sed -n 's/^KAFKA_PREVIOUS_VERSION=//p' $(BROKER_VERSIONS))
# Empty: the local JRE base (JRE_BASE_IMAGE in versions.env), built by `make jre-base`.
BASE_IMAGE ?=

.PHONY: kafka-libs broker-agent docker-engine jre-base broker-image broker-images broker-image-check

kafka-libs:  ## assemble the jars of the served Kafka releases under $KOPFKA_CACHE/kafka/<version>/libs
	hack/kafka-libs.sh $(KAFKA_VERSION)
	hack/kafka-libs.sh $(KAFKA_PREVIOUS_VERSION)

broker-agent:  ## compile the probe agent (readiness/liveness files) into $KOPFKA_CACHE/agent
	broker-image/agent/build.sh

docker-engine:  ## install Debian's docker.io if missing and start containerd + dockerd
	hack/docker.sh

jre-base: docker-engine  ## build the local JRE base image from the Debian archive (debootstrap)
	hack/jre-base.sh

broker-image: docker-engine $(if $(BASE_IMAGE),,jre-base)  ## build kopfka/kafka:$(KAFKA_VERSION)
	BASE_IMAGE='$(BASE_IMAGE)' broker-image/build.sh $(KAFKA_VERSION)

broker-images: docker-engine $(if $(BASE_IMAGE),,jre-base)  ## build kopfka/kafka for both served Kafka releases
	BASE_IMAGE='$(BASE_IMAGE)' broker-image/build.sh $(KAFKA_VERSION)
	BASE_IMAGE='$(BASE_IMAGE)' broker-image/build.sh $(KAFKA_PREVIOUS_VERSION)

broker-image-check: broker-image  ## smoke-test kopfka/kafka:$(KAFKA_VERSION) in docker (read-only root, SIGTERM)
	broker-image/check.sh $(KAFKA_VERSION)
