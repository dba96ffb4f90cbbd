"""How big a model the data asks for: the latent channels of a grid bottleneck, from how much a
latent cell's patch of the grid varies in the training windows. numpy only.

Each cell of a grid bottleneck summarises one patch of the grid (4 x 4 cells behind two stride-2
blocks). The empirical entropy of those patches (bits, over the training windows) says how much a
cell must carry. Held-out reconstruction, each game alone (benchmarks/results/sizing_experiments.md):

    data                         patch entropy   channels   held-out accuracy / non-empty
    Super Mario Bros + SMB2J     4.7 bits        4          0.983 / 0.905 (the bundled model)
    Super Mario Land             6.2 bits        4          0.926 / 0.692
                                                 8          0.952 / 0.775
                                                 12         0.970 / 0.865
                                                 16         0.958 / 0.812
    Bach chorales (piano roll)   3.1 bits        4          onset F1 0.965 (the bundled model)

so channels = 4 * 2 ** ((entropy - 4.75) / 0.92), rounded and kept within 4..16: a cell needs about
twice the channels for every 0.9 bits more of variety. Fitted on those two level games; on games it
was not fitted on: Kid Icarus (7.7 bits -> 16 channels) 0.995 / 0.979 against 0.963 / 0.848 with 4,
The Legend of Zelda (6.9 bits -> 16) 0.997 / 0.997 against 0.998 / 0.998 with 4 (saturated).
"""
from __future__ import annotations

import math

import numpy as np

MIN_CHANNELS, MAX_CHANNELS = 4, 16


def patch_entropy(windows: np.ndarray, patch: int, sample: int = 20_000) -> float:
    """Entropy (bits) of the non-overlapping `patch` x `patch` blocks of compact windows (N, H, W)
    of class indices or (N, H, W, C) of bools, each block one symbol; blocks at the lower and
    right edges are padded with zeros as the networks pad. At most `sample` windows are read."""
    windows = np.asarray(windows)
    if len(windows) > sample:
        windows = windows[np.linspace(0, len(windows) - 1, sample).astype(int)]
    if windows.ndim == 3:
        windows = windows[..., None]
    n, h, w, c = windows.shape
    hp, wp = -(-h // patch) * patch, -(-w // patch) * patch
    padded = np.zeros((n, hp, wp, c), windows.dtype)
    padded[:, :h, :w] = windows
    blocks = padded.reshape(n, hp // patch, patch, wp // patch, patch, c).transpose(0, 1, 3, 2, 4, 5)
    flat = np.ascontiguousarray(blocks.reshape(-1, patch * patch * c))
    if flat.dtype == bool:
        flat = np.packbits(flat, axis=1)
    symbols = flat.view(np.dtype((np.void, flat.dtype.itemsize * flat.shape[1]))).ravel()
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def latent_channels(entropy: float) -> int:
    """Channels per latent cell for patches of this entropy (see the module's table)."""
    return int(min(MAX_CHANNELS, max(MIN_CHANNELS, round(4 * 2 ** ((entropy - 4.75) / 0.92)))))


def patch_size(blocks: int) -> int:
    """The grid cells one latent cell summarises along each axis, behind `blocks` stride-2 blocks."""
    return int(math.pow(2, blocks))
