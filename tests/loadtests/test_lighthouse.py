"""The harness's Lighthouse summary: scores, the audits that cost points, and the page's weight and timings."""

from __future__ import annotations

from loadtests.lighthouse import HEADER, summarise


def _report() -> dict:
    return {
        "categories": {
            "performance": {"score": 0.97, "auditRefs": [{"id": "largest-contentful-paint", "weight": 25}]},
            "accessibility": {
                "score": 0.9,
                "auditRefs": [
                    {"id": "color-contrast", "weight": 7},
                    {"id": "label", "weight": 7},
                    {"id": "aria-allowed-role", "weight": 0},  # weighs nothing: not a reason
                    {"id": "manual-check", "weight": 3},
                ],
            },
            "best-practices": {"score": 1.0, "auditRefs": [{"id": "errors-in-console", "weight": 1}]},
            "seo": {"score": 1.0, "auditRefs": []},
        },
        "audits": {
            "largest-contentful-paint": {"score": 0.8, "scoreDisplayMode": "numeric", "numericValue": 1234.5},
            "cumulative-layout-shift": {"score": 1, "scoreDisplayMode": "numeric", "numericValue": 0.0},
            "total-byte-weight": {"score": 1, "scoreDisplayMode": "numeric", "numericValue": 41_984},
            "color-contrast": {"score": 0, "scoreDisplayMode": "binary"},
            "label": {"score": 1, "scoreDisplayMode": "binary"},
            "aria-allowed-role": {"score": 0, "scoreDisplayMode": "binary"},
            "manual-check": {"score": None, "scoreDisplayMode": "manual"},
            "errors-in-console": {"score": 1, "scoreDisplayMode": "binary"},
        },
    }


def test_a_summary_names_the_audits_that_cost_points_and_the_page_weight() -> None:
    summary = summarise(_report())
    assert summary.scores == {"performance": 97, "accessibility": 90, "best-practices": 100, "seo": 100}
    assert summary.failing == {"performance": ["largest-contentful-paint"], "accessibility": ["color-contrast"]}
    row = summary.row("product (HIT)")
    assert row == (
        "| product (HIT) | 97 | 90 | 100 | 100 | 1.23 s | 0.000 | 41.0 KB "
        "| performance: largest-contentful-paint; accessibility: color-contrast |"
    )
    assert row.count("|") == HEADER[0].count("|")
