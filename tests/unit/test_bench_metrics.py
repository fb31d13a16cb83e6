"""How the metrics benchmark (bench/metrics.py) reads a JVM's memory (/proc/PID/status, jcmd)
and a scrape, and pairs the brokers of the two sides."""

from __future__ import annotations

from typing import Any

import pytest

from bench.metrics import (
    MEMORY_KEYS,
    WITH,
    WITHOUT,
    count_series,
    memory_differences,
    parse_heap_info,
    parse_histogram,
    parse_status,
)

# Output of JDK 17's jcmd against a G1 JVM, shortened.
HISTOGRAM = """\
10375:
 num     #instances         #bytes  class name (module)
-------------------------------------------------------
   1:         13034         794104  [B (java.base@17.0.15)
   2:          3002         360856  java.lang.Class (java.base@17.0.15)
   3:           120           5760  io.prometheus.jmx.JmxCollector$Rule
   4:            10            240  io.prometheus.metrics.model.snapshots.Labels
   5:             1             16  sun.nio.fs.NativeBuffers$1 (java.base@17.0.15)
Total         16167        1160976
"""
HEAP_INFO = """\
10375:
 garbage-first heap   total 65536K, used 7378K [0x00000000fc000000, 0x0000000100000000)
  region size 1024K, 5 young (5120K), 1 survivors (1024K)
 Metaspace       used 8948K, committed 9088K, reserved 1114112K
  class space    used 1062K, committed 1152K, reserved 1048576K
"""
STATUS = """\
Name:\tjava
VmPeak:\t 3000000 kB
VmRSS:\t   76520 kB
RssAnon:\t   45180 kB
RssFile:\t   31340 kB
RssShmem:\t       0 kB
Threads:\t22
"""


def test_histogram_gives_live_bytes_exporter_bytes_and_classes() -> None:
    assert parse_histogram(HISTOGRAM) == {
        "live_bytes": 1160976,
        "exporter_bytes": 5760 + 240,
        "classes": 3002,
    }


def test_heap_info_gives_heap_and_metaspace_used() -> None:
    assert parse_heap_info(HEAP_INFO) == {"heap_used_kib": 7378, "metaspace_used_kib": 8948}


@pytest.mark.parametrize("parse", [parse_histogram, parse_heap_info])
def test_other_jcmd_output_is_refused(parse: Any) -> None:
    with pytest.raises(ValueError, match="not"):
        parse("10375:\nCommand executed successfully\n")


def test_status_gives_resident_memory_and_threads() -> None:
    assert parse_status(STATUS) == {
        "VmRSS": 76520,
        "RssAnon": 45180,
        "RssFile": 31340,
        "Threads": 22,
    }


@pytest.mark.parametrize(
    ("body", "series"),
    [
        (b"", 0),
        (b"# HELP a A\n# TYPE a gauge\na 1.0\n", 1),
        (b'# TYPE b counter\nb_total{x="1"} 2.0\nb_total{x="2"} 3.0\n\n', 2),
    ],
)
def test_series_are_the_lines_that_are_not_comments(body: bytes, series: int) -> None:
    assert count_series(body) == series


def broker(pod: str, value: float) -> dict[str, Any]:
    return {"pod": pod, **dict.fromkeys(MEMORY_KEYS, value)}


def test_memory_is_compared_broker_against_the_same_broker_of_the_same_round() -> None:
    rounds = [
        {
            WITH: {"brokers": [broker("b-0", 110), broker("b-1", 120)]},
            WITHOUT: {"brokers": [broker("b-0", 100), broker("b-1", 100)]},
        },
        {
            WITH: {"brokers": [broker("b-0", 90), broker("b-1", 130)]},
            WITHOUT: {"brokers": [broker("b-0", 100), broker("b-1", 100)]},
        },
    ]
    rss = memory_differences(rounds)["rss_mib"]
    assert rss == {
        "median_with": 115,
        "median_without": 100,
        "median_difference": 15,
        "min_difference": -10,
        "max_difference": 30,
        "pairs": 4,
    }
