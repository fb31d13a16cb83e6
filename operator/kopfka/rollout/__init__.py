"""Rolling restarts: the pure planner of the next safe restart, and the executor that does it."""
