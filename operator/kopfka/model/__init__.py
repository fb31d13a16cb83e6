"""The pure model: typed, defaulted, validated specs, names, labels and conditions.

Nothing here talks to Kubernetes or Kafka; every function is a pure function of its inputs, so the
rest of the operator can be tested by tables of cases.
"""
