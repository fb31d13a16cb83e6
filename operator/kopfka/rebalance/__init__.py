"""Rebalancing: the pure replica placement planner (plan.py) and the min-cost flow it solves
(flow.py)."""
