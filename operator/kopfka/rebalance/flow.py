"""A small minimum-cost flow solver, so that the replica placement planner is provably minimal.

The planner states its goals (where replicas may go, what each placement costs, how many each
broker must take) as a flow network, and this module finds a maximum flow of least cost in it.
It is the primal-dual method: Dijkstra's algorithm, on costs reduced by node potentials, finds
the distance of the cheapest way from source to sink; then a blocking-flow max flow (Dinic's)
pushes as much as fits along the arcs on such cheapest ways at once; repeat until nothing more
fits. Every arc's reduced cost stays non-negative throughout, which is the certificate that the
flow is the cheapest for its value. Costs must be non-negative integers; the planner's networks
have few distinct path costs, so there are few rounds, each on a graph of a few thousand nodes.
"""

from __future__ import annotations

import heapq
import math


class Network:
    """A directed graph with integer capacities and costs; arc `a`'s residual twin is `a ^ 1`."""

    def __init__(self) -> None:
        self._out: list[list[int]] = []
        self._to: list[int] = []
        self._cap: list[int] = []
        self._cost: list[int] = []

    def node(self) -> int:
        self._out.append([])
        return len(self._out) - 1

    def arc(self, tail: int, head: int, capacity: int, cost: int) -> int:
        """Add an arc and return its id, for `flow` after solving."""
        if capacity < 0 or cost < 0:
            raise ValueError("capacities and costs must not be negative")
        arc = len(self._to)
        self._to += [head, tail]
        self._cap += [capacity, 0]
        self._cost += [cost, -cost]
        self._out[tail].append(arc)
        self._out[head].append(arc + 1)
        return arc

    def flow(self, arc: int) -> int:
        return self._cap[arc ^ 1]

    def min_cost_flow(self, source: int, sink: int) -> int:
        """Push a maximum flow from source to sink at the least total cost; return its value."""
        potential = [0] * len(self._out)
        total = 0
        while True:
            distance = self._distances(source, potential)
            reach = distance[sink]
            if reach == math.inf:
                return total
            for node, far in enumerate(distance):
                # Capping at the sink's distance keeps every reduced cost non-negative.
                potential[node] += int(min(far, reach))
            while pushed := self._blocking_flow(source, sink, potential):
                total += pushed

    def _reduced(self, arc: int, tail: int, potential: list[int]) -> int:
        return self._cost[arc] + potential[tail] - potential[self._to[arc]]

    def _distances(self, source: int, potential: list[int]) -> list[float]:
        distance: list[float] = [math.inf] * len(self._out)
        distance[source] = 0
        heap = [(0, source)]
        to, cap, cost = self._to, self._cap, self._cost
        while heap:
            far, node = heapq.heappop(heap)
            if far > distance[node]:
                continue
            base = far + potential[node]
            for arc in self._out[node]:
                if cap[arc] > 0:
                    head = to[arc]
                    nearer = base + cost[arc] - potential[head]
                    if nearer < distance[head]:
                        distance[head] = nearer
                        heapq.heappush(heap, (nearer, head))
        return distance

    def _blocking_flow(self, source: int, sink: int, potential: list[int]) -> int:
        """Dinic's phase on the arcs of reduced cost 0: levels by breadth-first search, then
        augmenting paths that climb one level per arc until none is left."""
        to, cap, out = self._to, self._cap, self._out
        level = [-1] * len(out)
        level[source] = 0
        queue = [source]
        for node in queue:
            for arc in out[node]:
                head = to[arc]
                if cap[arc] > 0 and level[head] < 0 and self._reduced(arc, node, potential) == 0:
                    level[head] = level[node] + 1
                    queue.append(head)
        if level[sink] < 0:
            return 0
        next_arc = [0] * len(out)
        pushed = 0
        path: list[int] = []
        node = source
        while True:
            if node == sink:
                amount = min(cap[arc] for arc in path)
                for arc in path:
                    cap[arc] -= amount
                    cap[arc ^ 1] += amount
                pushed += amount
                path.clear()
                node = source
                continue
            arcs = out[node]
            index = next_arc[node]
            while index < len(arcs):
                arc = arcs[index]
                head = to[arc]
                if (
                    cap[arc] > 0
                    and level[head] == level[node] + 1
                    and self._reduced(arc, node, potential) == 0
                ):
                    break
                index += 1
            next_arc[node] = index
            if index < len(arcs):
                path.append(arcs[index])
                node = to[arcs[index]]
            elif node == source:
                return pushed
            else:  # a dead end: step back and try the tail's next arc
                arc = path.pop()
                node = to[arc ^ 1]
                next_arc[node] += 1
