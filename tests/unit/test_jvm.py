"""JVM options and heap sizes: which options pass, why others are refused, what heap results."""

from __future__ import annotations

import pytest

from kopfka.model import jvm


@pytest.mark.parametrize(
    "option",
    [
        "-XX:+UseG1GC",
        "-XX:MaxGCPauseMillis=50",
        "-XX:-OmitStackTraceInFastThrow",
        "-XX:MaxDirectMemorySize=256m",
        "-XX:MaxRAMPercentage=75.0",
        "-Dkafka.logs.dir=/tmp/my logs",
        "-Dflag",
        "-Xmx2g",
        "-Xms512m",
        "-Xss1m",
        "-verbose:gc",
        "-ea",
        "-Xshare:off",
        "--add-opens=java.base/java.lang=ALL-UNNAMED",
    ],
)
def test_options_the_jvm_takes_on_their_own_pass(option: str) -> None:
    assert jvm.check_option(option) is None


@pytest.mark.parametrize(
    ("option", "problem"),
    [
        ("-cp", "is not a JVM option kopfka passes on"),
        ("-jar", "is not a JVM option kopfka passes on"),
        ("kafka.Kafka", "is not a JVM option kopfka passes on"),
        ("--module-path=/x", "is not a JVM option kopfka passes on"),
        ("-javaagent:/opt/agent.jar", "is not a JVM option kopfka passes on"),
        ("", "is not a JVM option kopfka passes on"),
        ("-XX:+UseFasterKafka", "is not a product flag"),
        ("-XX:+UnlockDiagnosticVMOptions -XX:+Foo", "is not of the form"),
        ("-XX:MaxGCPauseMillis", "is not of the form"),
        ("-XX:+MaxGCPauseMillis", "takes a value"),
        ("-XX:UseG1GC=true", "is switched with -XX:+UseG1GC"),
        ("-XX:MaxGCPauseMillis=fast", "is not a valid"),
        ("-XX:+UseParallelGC", "selects a garbage collector"),
        ("-XX:-UseG1GC", "selects a garbage collector"),
        ("-XX:MaxHeapSize=1g", "sets the heap"),
        ("-Xmx", "is not a JVM size"),
        ("-Xmx2 g", "is not a JVM size"),
        ("-Xss1k", "thread stack size must be between"),
        ("-Da=1\n-Xmx64g", "contains a control character"),
    ],
)
def test_options_that_would_stop_or_change_the_jvm_are_refused(option: str, problem: str) -> None:
    refusal = jvm.check_option(option)
    assert refusal is not None
    assert problem in refusal


@pytest.mark.parametrize(
    ("heap_mib", "options", "expected"),
    [
        (1024, [], jvm.Heap(initial_mib=1024, max_mib=1024)),
        (1024, ["-Xmx2g"], jvm.Heap(initial_mib=1024, max_mib=2048)),
        (1024, ["-Xms256m", "-Xmx512m"], jvm.Heap(initial_mib=256, max_mib=512)),
        # The last option wins, as on the java command line.
        (1024, ["-Xmx4g", "-Xmx3g"], jvm.Heap(initial_mib=1024, max_mib=3072)),
        (1024, ["-Dx=-Xmx9g"], jvm.Heap(initial_mib=1024, max_mib=1024)),
    ],
)
def test_effective_heap_is_what_the_command_line_gives(
    heap_mib: int, options: list[str], expected: jvm.Heap
) -> None:
    assert jvm.effective_heap(heap_mib, options) == expected
