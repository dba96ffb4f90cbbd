"""Model and training settings as plain frozen dataclasses, with named presets.

beta-VAE, conditional VAE and contractive autoencoder are settings of one model, not three:
  beta-VAE        variational=True,  beta != 1
  conditional VAE any of them trained on labelled data (labels become extra inputs)
  contractive AE  variational=False, contractive > 0 (penalty on the encoder's Jacobian)
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace

from genforge.errors import GenforgeError


@dataclass(frozen=True)
class ModelConfig:
    latent_dim: int = 64                   # a "grid" bottleneck rounds it to whole channels per cell
    filters: tuple[int, ...] = (64, 128)   # one stride-2 conv block per entry
    decoder_filters: tuple[int, ...] = ()  # the decoder's, as many blocks as `filters`; () mirrors
                                           # them. Generation runs only the decoder: a lighter one
                                           # samples faster while the encoder keeps its capacity
    bottleneck: str = "dense"              # "dense": flatten -> z; "grid": z is a small feature map
    global_dim: int = 0                    # grid bottleneck: this many extra dense latents for the whole
                                           # grid (what every cell shares, e.g. a key), appended to z
    dropout: float = 0.0                   # on the encoder's features: regularises, helps held-out levels
    variational: bool = True               # False: deterministic autoencoder (z = mean)
    beta: float = 1.0                      # weight of the KL term
    kl_warmup_epochs: int = 5              # beta rises linearly from 0 over these epochs
    free_bits: float = 0.0                 # nats per latent dimension not penalised (keeps latents alive)
    contractive: float = 0.0               # weight of the encoder-Jacobian penalty
    input_noise: float = 0.0               # share of input cells replaced at random while training
    pos_weight: float = 1.0                # Bernoulli likelihood: weight of the cells that are on (rare
                                           # on-cells, e.g. notes, would otherwise be cheap to miss)
    kernel: tuple[int, int] = (3, 3)       # conv kernel (rows, columns) of every down/up block
    up_kernel: tuple[int, ...] = ()        # the decoder's upsampling kernel; () = `kernel`. (2, 2) with
                                           # stride 2 makes each upsampling step a per-cell projection,
                                           # under half the arithmetic of (3, 3)
    latent_from_data: bool = False         # grid bottleneck: channels per cell from the training data's
                                           # patch entropy (genforge.core.sizing), replacing latent_dim
    data_bias: bool = False                # start the output layer at the training data's per-channel
                                           # log-odds (Bernoulli) / log-frequencies (categorical): sparse
                                           # grids then skip the long first phase of learning "how rare"


@dataclass(frozen=True)
class TrainConfig:
    epochs: int | None = None              # None: as many as reach `steps` updates (genforge.core.fit.schedule)
    steps: int = 4000                      # optimiser updates to aim for when epochs is None
    max_epochs: int = 1000
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int | None = None            # early stopping: epochs without a better smoothed validation
                                           # accuracy; None: a fifth of the epochs, at least 10
    stride: int = 1                        # step between consecutive training windows
    seed: int = 0
    test_levels: float = 0.2               # share of whole levels held out for the reported metrics
    validation_levels: float = 0.1         # share of whole levels held out for early stopping


# The three variants of one model, as changes to a domain's default settings.
PRESETS = {
    "vae": {},
    "beta-vae": {"beta": 4.0},                                        # disentangling, blurrier
    "contractive-ae": {"variational": False, "beta": 0.0, "contractive": 1.0},
}


def to_dict(config) -> dict:
    return asdict(config)


def from_dict(cls, data: dict):
    """Build a config from a dict, ignoring unknown keys (older/newer bundles) and mending tuples."""
    names = {f.name for f in fields(cls)}
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
    return cls(**kwargs)


__all__ = ["ModelConfig", "TrainConfig", "PRESETS", "to_dict", "from_dict", "replace", "for_training"]

# What `genforge train levels` uses unless told otherwise (chosen by the experiments in
# benchmarks/results/level_experiments.md on held-out Super Mario Bros levels).
# A grid of codes (each cell summarises a 4 x 4 patch of tiles) generalises to unseen levels far
# better than a dense 64-d code (0.983 vs 0.955 held-out accuracy on SMB); the channels per cell
# follow the data (4 for SMB + SMB2J, 12 for Super Mario Land: genforge.core.sizing).
# Generation runs only the decoder: a lighter one (16/32 filters, 2 x 2 upsampling kernels) keeps
# the held-out accuracy (0.983 / 0.905 non-empty) at about a seventh of the arithmetic, and 2 x 2
# kernels let it export as plain matrix products (genforge.core.onnx_decoder): 30,000-41,000
# windows a second on 2 CPU cores.
LEVELS_MODEL = ModelConfig(filters=(32, 64), latent_dim=112, bottleneck="grid", beta=0.25,
                           decoder_filters=(16, 32), up_kernel=(2, 2), latent_from_data=True)
LEVELS_TRAIN = TrainConfig()

# What `genforge train music` uses unless told otherwise (chosen by the experiments in
# benchmarks/results/music_experiments.md on Bach chorales held out of training).
# A grid bottleneck (16 x 12 cells of 4 latents, each cell a beat by 4 semitones) generalises to
# unseen chorales as well as to the training ones (onset F1 0.965 on both after 6 epochs) where a
# dense code memorises; kernels 5 semitones wide, a positive-class weight of 2 and an output bias
# started at the data's note density make the sparse rolls (1.3% of cells on) learnable in minutes.
MUSIC_MODEL = ModelConfig(filters=(32, 64), latent_dim=768, bottleneck="grid", beta=0.05, pos_weight=2.0,
                          kernel=(3, 5), data_bias=True, latent_from_data=True)
MUSIC_TRAIN = TrainConfig(steps=1800)    # 12 epochs of the transposed Bach windows


def for_training(domain: str, preset: str = "vae", epochs: int | None = None, latent_dim: int | None = None,
                 beta: float | None = None, seed: int = 0) -> tuple[ModelConfig, TrainConfig]:
    """A domain's default settings with a preset and the user's changes, range-checked (the
    errors name the `genforge train` options)."""
    if preset not in PRESETS:
        raise GenforgeError(f"unknown --preset {preset!r}; choose from {', '.join(PRESETS)}")
    model_default, train_default = {"levels": (LEVELS_MODEL, LEVELS_TRAIN), "music": (MUSIC_MODEL, MUSIC_TRAIN)}[domain]
    changes = {k: v for k, v in {"latent_dim": latent_dim, "beta": beta}.items() if v is not None}
    if latent_dim is not None:
        changes["latent_from_data"] = False  # the user's size, not the data's
    model_cfg = replace(model_default, **{**PRESETS[preset], **changes})
    train_cfg = replace(train_default, seed=seed, **({"epochs": epochs} if epochs else {}))
    if train_cfg.epochs is not None and not 1 <= train_cfg.epochs <= 10_000:
        raise GenforgeError("--epochs must be between 1 and 10000")
    if not 2 <= model_cfg.latent_dim <= 4096:
        raise GenforgeError("--latent must be between 2 and 4096")
    if model_cfg.beta < 0:
        raise GenforgeError("--beta must be at least 0")
    return model_cfg, train_cfg
