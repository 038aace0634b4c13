"""The load-test report: per-step windows, hit rate, origin rate from counters, failures, charts."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from loadtests.loadtest import OriginSampler, parse_duration, report, summarize_steps


def _samples(path: Path, began: float) -> None:
    rows = []
    for second in range(20):  # step 1 (1x): 2 req/s, half hits; step 2 (10x): 20 req/s, all hits
        per_second, hit = (2, second % 2 == 0) if second < 10 else (20, True)
        for i in range(per_second):
            rows.append(
                (began + second + i / per_second, "product", 10.0 if hit else 80.0, 1, "HIT" if hit else "MISS")
            )
    rows.append((began + 15, "cart", 30.0, 0, ""))  # one failed private request in step 2
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("time", "name", "ms", "ok", "x_cache"))
        writer.writerows(rows)


def test_report_splits_steps_and_counts_hits_failures_and_origin_load(tmp_path: Path) -> None:
    began = 1_000_000.0
    _samples(tmp_path / "samples.csv", began)
    sampler = OriginSampler("http://origin.invalid", "http://invalidator.invalid")
    sampler.rows = [(began + t, 3 * t, t, t // 5) for t in range(21)]  # 3 origin req/s, 1 of them a page
    figures = report(
        samples=tmp_path / "samples.csv",
        sampler=sampler,
        began=began,
        ended=began + 20,
        profile="step",
        step_seconds=5,
        users=4,
        locust_cpu=2.0,
        exit_code=1,
        output=tmp_path,
    )
    first, second = figures["steps"][0], figures["steps"][1]
    assert first["users"] == 4 and second["users"] == 8
    assert first["hit_rate"] == pytest.approx(0.5, abs=0.15)
    assert second["hit_rate"] == pytest.approx(0.5, abs=0.15)
    last = figures["steps"][-1]
    assert last["hit_rate"] == 1.0 and last["edge_p95"] == 10.0 and last["browsing_rps"] == pytest.approx(20, rel=0.1)
    assert first["origin_rps"] == pytest.approx(3.0) and last["origin_page_rps"] == pytest.approx(1.0)
    assert figures["failures"] == 1 and figures["purges_applied"] == 4
    assert figures["locust_cpu_share"] == pytest.approx(0.1)
    ratios = summarize_steps(figures)
    assert ratios["origin_ratio"] == pytest.approx(1.0) and ratios["p95_ratio"] == pytest.approx(10 / 80)
    summary = (tmp_path / "summary.md").read_text()
    assert "**1 failed**" in summary and "| product |" in summary
    for chart in ("throughput.png", "latency.png", "origin.png"):
        assert (tmp_path / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("text", "seconds"), [("60s", 60), ("2m", 120), ("90", 90), ("1.5m", 90)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0s", "2h", "soon", ""])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises((ValueError, IndexError)):
        parse_duration(text)
