"""Image benchmark, pinned to one core: bytes per format against JPEG, SSIMULACRA2, speed, a quality sweep.

python -m loadtests.image_bench FIXTURES_DIR [--quick]   # prints JSON; loadtests.bench formats it
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PIL import Image
from ssimulacra2 import compute_ssimulacra2

from image_pipeline.variants import (
    DEFAULT_ENCODING,
    FORMATS,
    LADDER,
    decode,
    encode,
    ladder_for,
    render_ladder,
    resized,
)

SCORED_WIDTHS = (320, 640, 1280)
SWEEP = {"avif": (56, 60, 64, 68, 72), "webp": (75, 80, 85)}


def _score(reference: Path, data: bytes, scratch: Path) -> float:
    distorted = scratch / "distorted.png"
    Image.open(io.BytesIO(data)).convert("RGB").save(distorted)
    return float(compute_ssimulacra2(str(reference), str(distorted)))


def run(fixtures: Path, quick: bool) -> dict[str, Any]:
    files = sorted(p for p in fixtures.iterdir() if p.suffix in {".jpg", ".png"})
    if quick:
        files = files[:3]
    widths = (320,) if quick else SCORED_WIDTHS
    totals: dict[str, dict[str, float]] = {f: {"bytes": 0, "seconds": 0.0, "count": 0} for f in FORMATS}
    scores: dict[str, list[float]] = {f: [] for f in FORMATS}
    sweep: dict[str, list[tuple[int, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        reference = scratch / "reference.png"
        for path in files:
            data = path.read_bytes()
            base = decode(data, max_width=max(widths))
            for width in [w for w in ladder_for(base.width, widths) if w <= base.width]:
                step = resized(base, width).convert("RGB")
                step.save(reference)
                for fmt in FORMATS:
                    started = time.process_time()
                    out = encode(step, fmt)
                    totals[fmt]["seconds"] += time.process_time() - started
                    totals[fmt]["bytes"] += len(out)
                    totals[fmt]["count"] += 1
                    scores[fmt].append(_score(reference, out, scratch))
                if width == 640 or quick:
                    for fmt, qualities in SWEEP.items():
                        for quality in qualities:
                            field = "avif_quality" if fmt == "avif" else "webp_quality"
                            out = encode(step, fmt, replace(DEFAULT_ENCODING, **{field: quality}))
                            sweep.setdefault(f"{fmt} q{quality}", []).append(
                                (len(out), _score(reference, out, scratch))
                            )
                    jpeg = encode(step, "jpg")
                    sweep.setdefault("jpg q80", []).append((len(jpeg), _score(reference, jpeg, scratch)))
    ladder_photo = next((p for p in files if "2560" in p.name), files[0])
    ladder_times = []
    for _ in range(1 if quick else 3):
        started = time.perf_counter()
        variants = render_ladder(ladder_photo.read_bytes(), LADDER, tuple(FORMATS))
        ladder_times.append(time.perf_counter() - started)
    jpeg_sweep = sum(b for b, _ in sweep["jpg q80"])
    return {
        "files": [p.name for p in files],
        "widths": list(widths),
        "formats": {
            fmt: {
                "bytes_vs_jpeg": totals[fmt]["bytes"] / totals["jpg"]["bytes"],
                "ssimulacra2_mean": statistics.mean(scores[fmt]),
                "ssimulacra2_min": min(scores[fmt]),
                "variants_per_second": totals[fmt]["count"] / totals[fmt]["seconds"],
                "count": totals[fmt]["count"],
            }
            for fmt in FORMATS
        },
        "sweep": {
            label: {
                "bytes_vs_jpeg_q80": sum(b for b, _ in rows) / jpeg_sweep,
                "ssimulacra2_mean": statistics.mean(s for _, s in rows),
            }
            for label, rows in sorted(sweep.items())
        },
        "ladder": {"file": ladder_photo.name, "variants": len(variants), "seconds": statistics.median(ladder_times)},
        "encoding": DEFAULT_ENCODING.__repr__(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("fixtures", type=Path)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, encoders' own threads included
    print(json.dumps(run(args.fixtures, args.quick)))


if __name__ == "__main__":
    main()
