# Upstream tools built from the Go module proxy, and a local control plane with kwok nodes
# (hack/build-tools.sh, hack/cluster.sh; docs/control-plane.md). The integration tier starts
# its own clusters; these targets are for building ahead of time and for debugging by hand.
CLUSTER ?= kopfka

.PHONY: tools cluster-up cluster-down
tools:  ## build the pinned kube-*, kubectl, etcd, kwok, helm, kubeconform into $KOPFKA_CACHE/bin
	hack/build-tools.sh

cluster-up:  ## start a local control plane CLUSTER (default kopfka) with 3 kwok nodes; prints its kubeconfig
	hack/cluster.sh up $(CLUSTER)

cluster-down:  ## stop the local control plane CLUSTER and delete its state
	hack/cluster.sh down $(CLUSTER)
