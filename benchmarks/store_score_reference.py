"""Store the style score's reference (score quantiles of the held-out real windows, per label) in
the bundled models' genforge.json, so `genforge score` gives percentiles without the training
data (genforge.score.store_reference). Rerun after retraining a bundled model, or pass run folders.

    python benchmarks/store_score_reference.py [RUN ...]
"""
from __future__ import annotations

import sys

from genforge.bundle import default_model, open_bundle
from genforge.domains import codec_for
from genforge.score import store_reference


def main(runs: list[str]) -> None:
    for path in runs or [default_model("levels"), default_model("music")]:
        bundle = open_bundle(path)
        entry = store_reference(bundle, codec_for(bundle.meta))
        counts = ", ".join(f"{name} {e['windows']}" for name, e in entry["labels"].items())
        print(f"{path}: score reference stored ({entry['method']}; held-out windows: {counts})")


if __name__ == "__main__":
    main(sys.argv[1:])
