"""One-of groups of a Bernoulli grid (genforge.core.one_of, the VAE's mixed loss): a group's rows are
one class each, the loss is that categorical's cross-entropy beside the other channels' Bernoulli,
masked rows count in neither loss nor accuracy, and decoding writes one class per row."""
from __future__ import annotations

import numpy as np
import pytest

from genforge.core import one_of

H, W, C = 8, 6, 4
GROUP = (0, 1)                      # like a monophonic voice's (onset, hold); channels 2 and 3 free


def random_grids(rng: np.random.Generator, n: int) -> np.ndarray:
    """Grids whose group (0, 1) keeps the rule (one class per row) and whose free channels do not."""
    x = np.zeros((n, H, W, C), np.float32)
    for i in range(n):
        for h in range(H):
            k = int(rng.integers(0, 1 + 2 * W))
            if k:
                j, p = divmod(k - 1, W)
                x[i, h, p, 1] = 1                    # class of channel 0 sets 0 and 1, of channel 1 sets 1
                x[i, h, p, 0] = j == 0
    x[..., 2:] = rng.random((n, H, W, 2)) < 0.3
    return x


def test_classes_round_trip_and_targets_take_the_first_cell_on():
    x = random_grids(np.random.default_rng(0), 5)
    t = one_of.targets(x, GROUP)
    assert t.shape == (5, H) and t.min() >= 0 and t.max() <= 2 * W
    assert np.array_equal(one_of.cells(t, 2, W), x[..., :2] > 0.5)
    # A row that breaks the rule (two new notes and a held one) is the first cell on in class order.
    row = np.zeros((1, 1, W, C), np.float32)
    row[0, 0, [4, 2], 0] = 1
    row[0, 0, [4, 2, 5], 1] = 1
    assert one_of.targets(row, GROUP)[0, 0] == 1 + 2
    assert one_of.class_logits(np.ones((1, 1, W, C)), GROUP).tolist() == [[[0.0] + [1.0] * (2 * W)]]


@pytest.mark.parametrize("temperature", [0.0, 0.7, 3.0])
def test_decoding_writes_one_class_per_row_and_runs_keep_their_position(temperature):
    rng = np.random.default_rng(1)
    logits = rng.normal(0, 3, (50, H, W, C))
    on = np.zeros(logits.shape, bool)
    one_of.decode(logits, [GROUP], on, rng, temperature)
    assert not on[..., 2:].any()                                        # other channels left alone
    assert (np.count_nonzero(on[..., 1], axis=-1) <= 1).all()            # at most one position per row
    assert (on[..., 0] <= on[..., 1]).all()                              # nested: channel 0 implies 1
    chosen = one_of.targets(on, GROUP)
    # A continuation (channel 1 alone at p) follows a row with a class at p, or opens the window.
    n, r, p = np.nonzero(on[..., 1] & ~on[..., 0])
    keep = r > 0
    assert on[n[keep], r[keep] - 1, p[keep], 1].all()
    assert len(np.unique(chosen)) > 5


def sequences(h: int, width: int):
    """Every sequence of classes of a two-channel group over h rows that keeps the rule."""
    import itertools

    for seq in itertools.product(range(1 + 2 * width), repeat=h):
        if all(c <= width or prev and (prev - 1) % width == (c - 1) % width for prev, c in zip(seq, seq[1:])):
            yield seq


def test_the_best_sequence_and_the_draws_are_those_of_a_brute_force_count():
    h, width = 4, 2
    rng = np.random.default_rng(6)
    logits = rng.normal(0, 1.5, (12, h, width, 2))
    logits[..., 1] += 1.0                                               # continuations likely, so the rule bites
    full = one_of.class_logits(logits, (0, 1))
    valid = list(sequences(h, width))
    assert len(valid) < (1 + 2 * width) ** h
    score = np.array([[full[i, np.arange(h), list(seq)].sum() for seq in valid] for i in range(len(logits))])
    best = one_of.choose(logits, (0, 1))
    assert [tuple(b) for b in best] == [valid[j] for j in score.argmax(1)]
    # Drawn at T = 1.5: the frequencies of whole sequences are those of softmax(score / T) over the valid ones.
    many = np.repeat(logits[:1], 30000, axis=0)
    drawn = one_of.choose(many, (0, 1), np.random.default_rng(7), 1.5)
    index = {seq: j for j, seq in enumerate(valid)}
    counts = np.bincount([index[tuple(d)] for d in drawn], minlength=len(valid))
    want = np.exp(score[0] / 1.5 - score[0].max() / 1.5)
    assert 0.5 * np.abs(counts / counts.sum() - want / want.sum()).sum() < 0.03


def test_draws_follow_the_softmax():
    logits = np.full((20000, 1, 2, 2), -50.0)
    logits[:, 0, 1, 0] = np.log(2.0)         # class "channel 0 at 1": weight 2 beside "nothing": 1
    counts = np.bincount(one_of.choose(logits, GROUP, np.random.default_rng(2), 1.0).ravel(), minlength=5)
    assert counts[2] / counts.sum() == pytest.approx(2 / 3, abs=0.02) and counts[[1, 3, 4]].sum() == 0


def test_constant_logits_give_the_class_shares():
    x = random_grids(np.random.default_rng(3), 40)
    bias = one_of.constant_logits(x, GROUP)
    full = one_of.class_logits(np.broadcast_to(np.array([bias[0], bias[1], 0, 0]), (1, 1, W, C)), GROUP)[0, 0]
    p = np.exp(full) / np.exp(full).sum()
    t = one_of.targets(x, GROUP)
    assert p[0] == pytest.approx(np.mean(t == 0), rel=1e-6)
    assert p[1:W + 1].sum() == pytest.approx(np.mean((t >= 1) & (t <= W)), rel=1e-6)


def test_the_mixed_loss_and_accuracy_are_the_hand_computed_ones():
    keras = pytest.importorskip("keras")
    from genforge.config import ModelConfig
    from genforge.core.vae import BERNOULLI, CATEGORICAL, VAE

    x = random_grids(np.random.default_rng(4), 3)
    weights = np.ones((3, H, W), np.float32)
    weights[:, 6:] = 0                                                   # masked steps (a shorter metre's padding)
    x[:, 6:] = 0
    cfg = ModelConfig(filters=(8, 16), latent_dim=16, bottleneck="grid", kl_warmup_epochs=0, variational=False,
                      pos_weight=2.0)
    model = VAE((H, W, C), 0, BERNOULLI, cfg, one_of=[GROUP])
    y = np.zeros((3, 0), np.float32)
    terms = {k: float(v) for k, v in model.terms(x, y, training=False, weights=weights).items()}
    logits = keras.ops.convert_to_numpy(model((x, y))).astype(np.float64)   # deterministic: z is the mean

    def softplus(t):
        return np.logaddexp(0, t)

    bernoulli = (2.0 * x * softplus(-logits) + (1 - x) * softplus(logits))[..., 2:].sum(-1)           # (N, H, W)
    # Per step: rest (logit 0), onset at p (channel 0's logit), hold at p (channel 1's).
    classes = np.concatenate([np.zeros((3, H, 1)), logits[..., 0], logits[..., 1]], -1)            # (N, H, 1 + 2W)
    onset, hold = x[..., 0] > 0.5, x[..., 1] > 0.5
    target = np.where(onset.any(-1), 1 + onset.argmax(-1), np.where(hold.any(-1), 1 + W + hold.argmax(-1), 0))
    cross_entropy = np.log(np.exp(classes).sum(-1)) - np.take_along_axis(classes, target[..., None], -1)[..., 0]
    step_weight = weights[:, :, 0]
    expected = ((bernoulli * weights).sum((1, 2)) + (cross_entropy * step_weight).sum(1)).mean()
    assert terms["reconstruction"] == pytest.approx(expected, rel=1e-5)

    pred = np.zeros(x.shape, bool)
    pred[..., 2:] = logits[..., 2:] > 0
    for (i, h), k in np.ndenumerate(classes.argmax(-1)):
        if 1 <= k <= W:
            pred[i, h, k - 1, :2] = True                                 # a new note: onset and hold
        elif k > W:
            pred[i, h, k - 1 - W, 1] = True                              # a held note
    hit = pred == (x > 0.5)
    assert terms["accuracy"] == pytest.approx(hit[:, :6].mean(), rel=1e-6)     # masked steps left out

    # Unmasked, the last two steps count too (their rows are rest, their cells off).
    whole = {k: float(v) for k, v in model.terms(x, y, training=False).items()}
    assert whole["reconstruction"] == pytest.approx((bernoulli.sum((1, 2)) + cross_entropy.sum(1)).mean(), rel=1e-5)
    assert whole["accuracy"] == pytest.approx(hit.mean(), rel=1e-6) and whole["accuracy"] != terms["accuracy"]

    with pytest.raises(ValueError, match="one-of"):
        VAE((H, W, C), 0, CATEGORICAL, cfg, one_of=[GROUP])
    with pytest.raises(ValueError, match="one-of"):
        VAE((H, W, C), 0, BERNOULLI, cfg, one_of=[(0, 1), (1, 2)])


def test_the_pipeline_trains_one_of_groups_from_the_data_bias():
    pytest.importorskip("keras")
    from genforge.config import ModelConfig, TrainConfig
    from genforge.core.fit import GridSpec, fit, set_data_bias
    from genforge.core.vae import BERNOULLI

    x = random_grids(np.random.default_rng(5), 64) > 0.5
    spec = GridSpec((H, W, C), BERNOULLI, one_of=(GROUP,))
    cfg = ModelConfig(filters=(8, 16), latent_dim=16, bottleneck="grid", kl_warmup_epochs=0, data_bias=True)
    model, history = fit((x, np.zeros(64, int)), (x[:8], np.zeros(8, int)), spec, cfg,
                         TrainConfig(epochs=2, batch_size=16), quiet=True)
    assert model.one_of == (GROUP,) and np.isfinite(history["loss"]).all()
    bias = set_data_bias(model, x, spec)
    assert np.allclose(bias[:2], one_of.constant_logits(x, GROUP))


def test_groups_of_one_size_decode_as_one_batch_to_the_same_cells():
    """decode() stacks groups of one size into one batch (speed): the cells are those of decoding
    each group alone, at temperature 0 and with given draws."""
    rng = np.random.default_rng(4)
    groups = ((0, 1), (2, 3), (4, 5))
    logits = rng.normal(size=(3, 20, 9, 7)) * 3
    for temperature in (0.0, 0.8):
        uniform = rng.random((3, len(groups), 20)) if temperature else None
        together = one_of.decode(logits, groups, np.zeros(logits.shape, bool), None, temperature, uniform)
        alone = np.zeros(logits.shape, bool)
        for i, group in enumerate(groups):
            alone[..., list(group)] = one_of.cells(one_of.choose(logits, group, None, temperature,
                                                                 None if uniform is None else uniform[:, i]), 2, 9)
        assert np.array_equal(together, alone)
        assert not together[..., 6].any()          # a channel of no group is left as it was
