"""The harness's Lighthouse summary: scores, the audits that cost points, and the page's weight and timings."""

from __future__ import annotations

from loadtests.lighthouse import HEADER, failed_row, summarise


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
            "resource-summary": {
                "details": {
                    "items": [
                        {"resourceType": "total", "requestCount": 9, "transferSize": 41_984},
                        {"resourceType": "image", "requestCount": 6, "transferSize": 25_600},
                    ]
                }
            },
        },
    }


def test_a_summary_names_the_audits_that_cost_points_and_the_page_weight() -> None:
    summary = summarise(_report())
    assert summary.scores == {"performance": 97, "accessibility": 90, "best-practices": 100, "seo": 100}
    assert summary.failing == {"performance": ["largest-contentful-paint"], "accessibility": ["color-contrast"]}
    row = summary.row("product (HIT)")
    assert row == (
        "| product (HIT) | 97 | 90 | 100 | 100 | 1.23 s | 0.000 | 41.0 KB | 25.0 KB (6) "
        "| performance: largest-contentful-paint; accessibility: color-contrast |"
    )
    assert row.count("|") == HEADER[0].count("|")


def test_a_report_without_a_resource_summary_counts_no_images() -> None:
    report = _report()
    del report["audits"]["resource-summary"]
    summary = summarise(report)
    assert (summary.image_bytes, summary.image_requests) == (0, 0)


def test_a_failed_run_keeps_its_row_and_says_why() -> None:
    row = failed_row("search (HIT)", RuntimeError("lighthouse exited 1:\n Chrome | crashed"))
    assert (
        row.startswith("| search (HIT) | - | - | - | - |")
        and "run failed: lighthouse exited 1: Chrome / crashed" in row
    )
    assert row.count("|") == HEADER[0].count("|")
