"""Key and mode estimates against the Bach chorales' metadata."""
from __future__ import annotations

import numpy as np
from support import needs_bach

from genforge.domains.music.theory import estimate_mode


@needs_bach
def test_mode_estimate_agrees_with_metadata(bach, bach_meta):
    agree = [estimate_mode(p) == bach_meta[p.name]["key"].split()[-1].lower() for p in bach.pieces]
    share = float(np.mean(agree))
    print(f"mode agreement with metadata.csv: {share:.3f} ({sum(agree)}/{len(agree)})")
    assert share >= 0.85
