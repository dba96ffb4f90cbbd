"""Fingerprint a trained music model's training windows the codec's way (blind to key and to the
padding after a label's bars: genforge.domains.music.codec.MusicCodec.fingerprints), in place, so
that `sample` redraws transposed copies of training windows too. For models trained before the
codec had its own fingerprints (the bundled default among them); training writes them itself now.

    python benchmarks/fingerprint_bundled.py [MODEL]     # default: the bundled music model

The training windows are rebuilt from the model's recorded data and split, untransposed: a
transposed window's fingerprint is its original's (both move to the same tonic first).
"""
from __future__ import annotations

import sys
from pathlib import Path

from genforge.bundle import load, write_meta, write_prior
from genforge.domains import codec_for
from genforge.evaluate.common import training_data
from genforge.evaluate.music import rebuild_dataset
from genforge.train import training_fingerprints
from genforge.trust import HASHES, file_hashes


def main(model: str | None) -> None:
    bundle = load(model, "music")
    codec = codec_for(bundle.meta)
    folders, _ = training_data(bundle, None, "the MIDI folder or notes archive it was trained on")
    ds, _ = rebuild_dataset(bundle, codec, folders)
    windows, label_ids = ds.splits["train"]
    prior = dict(bundle.prior)
    prior["training_hashes"] = training_fingerprints(codec, windows, label_ids)
    write_prior(bundle.path, prior)
    meta = {**bundle.meta, "fingerprints": codec.fingerprint_kind}
    meta[HASHES] = file_hashes(bundle.path, list(meta[HASHES]))
    write_meta(bundle.path, meta)
    print(f"{Path(bundle.path).name}: {len(set(prior['training_hashes'].tolist()))} distinct fingerprints of "
          f"{len(windows)} training windows ({codec.fingerprint_kind})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
