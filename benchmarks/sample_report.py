"""Where the sample benchmarks (level_samples.py, music_samples.py) put what they measured:
benchmarks/results/<stem>.json and .md, and, on request, the "## Samples" section of the model's
MODEL_CARD.md (replaced on each run)."""
from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
SECTION = "## Samples"


def publish(stem: str, result: dict, markdown: str, model: Path, card: bool) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.json").write_text(json.dumps(result, indent=2, default=float) + "\n")
    (RESULTS / f"{stem}.md").write_text(markdown)
    print(markdown)
    if card:
        path = model / "MODEL_CARD.md"
        path.write_text(path.read_text().split("\n" + SECTION)[0].rstrip("\n") + "\n\n" + markdown)
