# kopfka's rolling restart against the sum of the same nodes' single restarts, on the e2e node,
# under an acks=all producer (bench/roll.py, docs/e2e.md "Roll benchmark"). Brings the e2e node up
# if it is down and leaves it running (`make e2e-down` stops it). About 8 minutes a round on a
# 2-core machine; writes bench/results/roll.json.
#
# bench-roll-by-rack measures rack-by-rack rolls (spec.rack.rollByRack) on three nodes in three
# zones, 3 controllers + 6 brokers, and writes the rack_parallel part of the same file. It stops a
# running e2e node of other zones first (e2e/node.sh refuses another zone list while one runs),
# and leaves the three nodes running. About 25 minutes a round.
BENCH_ROLL_ROUNDS ?= 3
BENCH_ROLL_RACK_ROUNDS ?= 2
BENCH_ROLL_ZONES := zone-a zone-b zone-c

.PHONY: bench-roll bench-roll-by-rack
bench-roll: $(STAMP) e2e-up operator-image  ## a full roll vs the sum of single restarts, under acks=all load
	e2e/node.sh images >/dev/null
	$(PY) -m bench.roll --rounds $(BENCH_ROLL_ROUNDS) --output bench/results/roll.json

bench-roll-by-rack: $(STAMP) broker-images operator-image  ## rack-by-rack rolls vs one at a time, on three zones
	if [ -f /run/kopfka-e2e/zones ] && [ "$$(cat /run/kopfka-e2e/zones)" != "$(BENCH_ROLL_ZONES)" ]; then \
		e2e/node.sh down; fi
	KOPFKA_E2E_ZONES="$(BENCH_ROLL_ZONES)" e2e/node.sh up >/dev/null
	e2e/node.sh images >/dev/null
	$(PY) -m bench.roll --by-rack --rounds $(BENCH_ROLL_RACK_ROUNDS) --output bench/results/roll.json
