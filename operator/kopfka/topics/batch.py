"""The topic Job's batch: carry out the work of a topic plan in Kafka and say how each change went.

The operator plans from what Kafka has and hands the work to a Job (kopfka.topics.wire); the Job
runs `kopfka topics-apply`, which calls `run_batch`. Every kind of change goes to Kafka many topics
per request (kopfka.kafka.admin cuts them into requests within Kafka's limits), and a topic Kafka
refuses only gets its own failed outcome: the other topics of the request and of the batch go on.
Only Kafka going away stops the batch (KafkaUnavailable, from the admin client); the next plan,
made from what Kafka then has, picks up whatever was not done.

The order of the steps:
1. deletions, because Kafka refuses a new topic whose name collides with an existing one's ('.'
   and '_' are the same character in Kafka's metric names: `a.b` and `a_b` cannot both exist), so
   a plan that deletes one and creates the other works only this way round (a plan never deletes
   and creates the same name: one KafkaTopic owns a name);
2. creates, what people wait for most: new KafkaTopics become usable as early as possible;
3. partition increases, then 4. config changes, on existing topics; these two do not depend on
   each other (a topic can have both, and Kafka applies each on its own), and their order is fixed
   so that every Job's log reads the same way.
A topic appears in one step only, except a topic whose partitions and configs both change.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from kopfka.kafka.admin import KafkaAdmin
from kopfka.kafka.facts import TopicError
from kopfka.topics.plan import ConfigChange
from kopfka.topics.wire import CONFIG, CREATE, DELETE, PARTITIONS, Outcome, TopicWork


def run_batch(
    admin: KafkaAdmin,
    work: TopicWork,
    *,
    report: Callable[[Outcome], None] = lambda _: None,
) -> list[Outcome]:
    """Carry `work` out and return one outcome per topic and change, in the order above.

    `report` sees each outcome as soon as Kafka has answered its step, so that a Job's log keeps
    what was done even if Kafka goes away before the end. Raises KafkaUnavailable then.
    """
    outcomes: list[Outcome] = []

    def step(action: str, results: Mapping[str, TopicError | None]) -> None:
        for topic, error in sorted(results.items()):
            outcome = Outcome(topic, action, error)
            outcomes.append(outcome)
            report(outcome)

    if work.deletions:
        step(DELETE, admin.delete_topics(work.deletions))
    if work.creates:
        step(CREATE, admin.create_topics(work.creates))
    if work.partition_increases:
        step(PARTITIONS, admin.create_partitions(work.partition_increases))
    if work.config_changes:
        changes = {name: _operations(change) for name, change in work.config_changes.items()}
        step(CONFIG, admin.alter_topic_configs(changes))
    return outcomes


def _operations(change: ConfigChange) -> dict[str, str | None]:
    """An incremental change as the admin client takes it: a value sets, None deletes."""
    return {**change.to_set, **dict.fromkeys(change.to_delete)}
