# kopfka's rolling restart against the sum of the same nodes' single restarts, on the e2e node,
# under an acks=all producer (bench/roll.py, docs/e2e.md "Roll benchmark"). Brings the e2e node up
# if it is down and leaves it running (`make e2e-down` stops it). About 8 minutes a round on a
# 2-core machine; writes bench/results/roll.json.
BENCH_ROLL_ROUNDS ?= 3

.PHONY: bench-roll
bench-roll: $(STAMP) e2e-up operator-image  ## a full roll vs the sum of single restarts, under acks=all load
	e2e/node.sh images >/dev/null
	$(PY) -m bench.roll --rounds $(BENCH_ROLL_ROUNDS) --output bench/results/roll.json
