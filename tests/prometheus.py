"""Reading Prometheus text exposition in tests: every sample as (name, labels) -> value."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

Series = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Series:
    """Every sample; the parser refuses anything that is not valid exposition format."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(series: Series, name: str, **labels: str) -> float:
    """The sample `name{labels}` (0 when absent: a counter that never moved may not be exported yet)."""
    return series.get((name, frozenset(labels.items())), 0.0)


def label_values(series: Series, label: str) -> set[str]:
    return {v for (_, labels) in series for k, v in labels if k == label}
