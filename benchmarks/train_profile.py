"""Where a training step of the default music model goes: input pipeline, forward (encoder, decoder,
loss), backward, optimiser; its arithmetic (FLOPs from the layer shapes) and the FLOP/s it achieves
beside this machine's measured matmul peak; and variants of the step compared in the same run.

    nice -n 10 python benchmarks/train_profile.py            # the Bach data of `train_default.py music`

Every figure is the median of `--steps` timed steps after warm-up. The machine may be shared: the
load (1-minute average) is recorded before and after, and variants are timed in one run, one after
the other, so they share the conditions. Results: benchmarks/results/train_profile.json and .md.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
DATA = Path("..") / "shared" / "datasets" / "midi" / "bach_chorales_music21"   # as train_default.py music
RESULTS = ROOT / "benchmarks" / "results"


def median_seconds(fn, steps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def matmul_peak(n: int = 2048, steps: int = 10) -> dict:
    """GFLOP/s of an n x n float32 matrix product: numpy (its BLAS) and TensorFlow (Eigen), all cores."""
    import numpy as np
    import tensorflow as tf

    a, b = np.random.default_rng(0).standard_normal((2, n, n)).astype(np.float32)
    flops = 2 * n ** 3
    ta, tb = tf.constant(a), tf.constant(b)
    mm = tf.function(lambda: tf.linalg.matmul(ta, tb))
    out = {"n": n}
    for name, fn in (("numpy", lambda: a @ b), ("tensorflow", lambda: mm().numpy())):
        fn()
        times = []
        for _ in range(steps):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        # the peak: the best run (others' jobs on a shared machine only ever slow a run down); and the median
        out[f"{name}_gflops"] = round(flops / min(times) / 1e9, 1)
        out[f"{name}_median_gflops"] = round(flops / statistics.median(times) / 1e9, 1)
    return out


def layer_flops(net) -> list[dict]:
    """Forward FLOPs per window of each Conv2D / Conv2DTranspose / Dense layer (2 per multiply-add),
    from its kernel and output shapes."""
    import keras

    rows = []
    for layer in net.layers:
        if not layer.weights or not hasattr(layer, "kernel"):
            continue
        k = tuple(layer.kernel.shape)
        out = tuple(layer.output.shape[1:])
        if isinstance(layer, keras.layers.Conv2DTranspose):
            inp = tuple(layer.input.shape[1:])
            macs = inp[0] * inp[1] * k[0] * k[1] * k[2] * k[3]        # every input cell spreads a kernel
        elif isinstance(layer, keras.layers.Conv2D):
            macs = out[0] * out[1] * k[0] * k[1] * k[2] * k[3]
        else:
            macs = k[0] * k[1]
        rows.append({"layer": f"{net.name}/{layer.name}", "kind": type(layer).__name__, "kernel": list(k),
                     "output": list(out), "mflops": round(2 * macs / 1e6, 2)})
    return rows


def build(spec, model_cfg, train_cfg, train, jit: bool = False):
    """The model as genforge.core.fit.fit builds it, and its train step as one compiled function."""
    import keras
    import tensorflow as tf

    from genforge.core.fit import set_data_bias
    from genforge.core.vae import VAE

    keras.utils.set_random_seed(train_cfg.seed)
    model = VAE(spec.shape, spec.n_labels, spec.likelihood, model_cfg, steps_per_epoch=100, seed=train_cfg.seed,
                one_of=spec.one_of)
    model((spec.dense(train[0][:1]), spec.labels(train[1][:1])))
    set_data_bias(model, train[0], spec, model_cfg.pos_weight)
    model.compile(optimizer=keras.optimizers.Adam(train_cfg.learning_rate), jit_compile=jit)   # fit's step too
    model.optimizer.build(model.trainable_variables)
    step = tf.function(model.train_step, jit_compile=jit)
    return model, step


def profile_parts(model, step, batch, spec) -> dict:
    """Median seconds of each part of one step on a batch already in memory."""
    import tensorflow as tf

    grid, label, weights = batch
    variables = model.trainable_variables

    @tf.function
    def encoder():
        return model.encode(grid, label, training=True)[0]

    mean = encoder()

    @tf.function
    def decoder():
        return model.decode(mean, label, training=True)

    @tf.function
    def forward():
        return model.terms(grid, label, True, weights)["loss"]

    @tf.function
    def forward_backward():
        with tf.GradientTape() as tape:
            loss = model.terms(grid, label, True, weights)["loss"]
        return tape.gradient(loss, variables)

    grads = forward_backward()

    @tf.function
    def optimizer():
        model.optimizer.apply_gradients(zip(grads, variables))

    def run(f):                      # wait for the results: TensorFlow may return before computing them
        out = f()
        if out is not None:
            tf.nest.map_structure(lambda t: t.numpy(), out)

    return {name: median_seconds(lambda f=f: run(f), STEPS)
            for name, f in (("encoder", encoder), ("decoder", decoder), ("forward", forward),
                            ("forward_backward", forward_backward), ("optimizer", optimizer),
                            ("train_step", lambda: step(batch)["loss"]))}


def pipeline_seconds(train, spec, batch_size: int, seed: int) -> float:
    """Median seconds to draw one batch from genforge's tf.data pipeline alone (shuffle, gather, dense)."""
    from genforge.core.fit import dataset

    it = iter(dataset(*train, spec, batch_size, shuffle=True, seed=seed, epochs=range(1000)))
    return median_seconds(lambda: next(it), STEPS * 3)


def fit_seconds(model, train, spec, batch_size: int, seed: int, steps: int) -> float:
    """Median seconds per step of Keras' fit on the pipeline: what `genforge train` runs."""
    import keras

    from genforge.core.fit import dataset

    times = []

    class Clock(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.t = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            times.append(time.perf_counter() - self.t)

    model.fit(dataset(*train, spec, batch_size, shuffle=True, seed=seed, epochs=range(1)), steps_per_epoch=steps,
              epochs=1, callbacks=[Clock()], verbose=0)
    return statistics.median(times[3:])


STEPS = 7


def main() -> None:
    global STEPS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=7)
    parser.add_argument("--refresh", action="store_true", help="no measuring: rewrite the .md from the .json")
    a = parser.parse_args()
    if a.refresh:
        (RESULTS / "train_profile.md").write_text(markdown(json.loads((RESULTS / "train_profile.json").read_text())))
        return
    STEPS = a.steps
    load_before = os.getloadavg()[0]
    os.chdir(ROOT)
    import tensorflow as tf

    from genforge import config
    from genforge.core.fit import dataset
    from genforge.domains.music.codec import MusicCodec
    from genforge.domains.music.dataset import build_dataset
    from genforge.train import grid_spec, sized_to_data

    started = time.perf_counter()
    model_cfg, train_cfg = config.for_training("music")
    ds = build_dataset([str(DATA)], seed=train_cfg.seed, test=train_cfg.test_levels,
                       validation=train_cfg.validation_levels, shifts_per_window=3)   # as train_music
    dataset_seconds = time.perf_counter() - started
    codec = MusicCodec.from_dataset(ds)
    spec = grid_spec(codec)
    train = ds.splits["train"]
    model_cfg, _ = sized_to_data(model_cfg, train[0])
    peak = matmul_peak()
    result = {"load_before": round(load_before, 2), "cores": os.cpu_count(), "tensorflow": tf.__version__,
              "grid": list(spec.shape), "training_windows": len(train[0]), "dataset_seconds": round(dataset_seconds, 1),
              "one_of_groups": len(spec.one_of), "matmul": peak, "variants": []}
    variants = [("default (batch 64)", model_cfg, 64, False),
                ("default, XLA jit_compile", model_cfg, 64, True),
                ("default, batch 256", model_cfg, 256, False),
                ("up_kernel (2, 2)", replace(model_cfg, up_kernel=(2, 2)), 64, False)]
    for name, cfg, batch_size, jit in variants:
        model, step = build(spec, cfg, replace(train_cfg, batch_size=batch_size), train, jit)
        flops = layer_flops(model.encoder) + layer_flops(model.decoder)
        forward = sum(r["mflops"] for r in flops) * 1e6
        batch = next(iter(dataset(*train, spec, batch_size, shuffle=True, seed=0)))
        parts = profile_parts(model, step, batch, spec)
        row = {"variant": name, "batch": batch_size, "jit_compile": jit, "config": {"up_kernel": list(cfg.up_kernel),
               "kernel": list(cfg.kernel), "filters": list(cfg.filters)},
               "forward_mflops_per_window": round(forward / 1e6, 1),
               # backward: about twice the forward's arithmetic (gradients of the inputs and of the weights)
               "step_gflops": round(3 * forward * batch_size / 1e9, 2),
               "seconds": {k: round(v, 4) for k, v in parts.items()},
               "pipeline_seconds_per_batch": round(pipeline_seconds(train, spec, batch_size, 0), 4)}
        if name.startswith("default (") or "(2, 2)" in name:
            row["layers"] = flops
        row["fit_seconds_per_step"] = round(fit_seconds(model, train, spec, batch_size, 0, STEPS + 3), 4)
        s = row["seconds"]
        row["windows_per_second_fit"] = round(batch_size / row["fit_seconds_per_step"], 1)
        row["achieved_gflops_train_step"] = round(row["step_gflops"] / s["train_step"], 1)
        row["share_of_tf_matmul_peak"] = round(row["achieved_gflops_train_step"] / peak["tensorflow_gflops"], 3)
        result["variants"].append(row)
        print(json.dumps({k: v for k, v in row.items() if k != "layers"}), flush=True)
    result["load_after"] = round(os.getloadavg()[0], 2)
    result["steps_timed"] = STEPS
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "train_profile.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "train_profile.md").write_text(markdown(result))
    print(markdown(result))


def markdown(r: dict) -> str:
    m = r["matmul"]
    lines = ["# Profile of a training step: the default music model", "",
             f"`python benchmarks/train_profile.py --steps {r['steps_timed']}` on the Bach data of "
             f"`benchmarks/train_default.py music`: grid {' x '.join(map(str, r['grid']))} (steps x pitches x "
             f"onset/hold per voice), {r['training_windows']:,} training windows, {r['one_of_groups']} one-of voice "
             f"groups. {r['cores']} cores, TensorFlow {r['tensorflow']}; load (1-minute average) {r['load_before']} "
             f"before, {r['load_after']} after (the machine is shared: figures are medians of "
             f"{r['steps_timed']} steps, variants timed one after the other in one run). Building the dataset: "
             f"{r['dataset_seconds']} s.", "",
             f"**Matmul peak of this machine** ({m['n']} x {m['n']} float32, all cores, the best of 10 runs; "
             f"median in brackets): numpy {m['numpy_gflops']} ({m['numpy_median_gflops']}) GFLOP/s, TensorFlow "
             f"{m['tensorflow_gflops']} ({m['tensorflow_median_gflops']}) GFLOP/s. The share of peak below is of "
             "TensorFlow's best run.", "",
             "| variant | fwd MFLOP/window | step GFLOP | encoder | decoder | forward (+loss) | forward+backward | "
             "optimiser | train step | pipeline/batch | Keras fit/step | windows/s (fit) | GFLOP/s (step) | of peak |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for v in r["variants"]:
        s = v["seconds"]
        lines.append(f"| {v['variant']} | {v['forward_mflops_per_window']} | {v['step_gflops']} | "
                     f"{s['encoder'] * 1e3:.0f} ms | {s['decoder'] * 1e3:.0f} ms | {s['forward'] * 1e3:.0f} ms | "
                     f"{s['forward_backward'] * 1e3:.0f} ms | {s['optimizer'] * 1e3:.1f} ms | "
                     f"{s['train_step'] * 1e3:.0f} ms | {v['pipeline_seconds_per_batch'] * 1e3:.1f} ms | "
                     f"{v['fit_seconds_per_step'] * 1e3:.0f} ms | {v['windows_per_second_fit']} | "
                     f"{v['achieved_gflops_train_step']} | {v['share_of_tf_matmul_peak']:.0%} |")
    base = r["variants"][0]
    lines += ["", "Forward FLOPs per window by layer (default model):", "",
              "| layer | kind | kernel | output | MFLOP |", "|---|---|---|---|---|"]
    lines += [f"| {x['layer']} | {x['kind']} | {x['kernel']} | {x['output']} | {x['mflops']} |" for x in base["layers"]]
    s = base["seconds"]
    lines += ["", f"Time split of the default step ({s['train_step'] * 1e3:.0f} ms): forward (encoder, decoder, loss) "
              f"{s['forward'] / s['train_step']:.0%}, backward {(s['forward_backward'] - s['forward']) / s['train_step']:.0%}, "
              f"optimiser {s['optimizer'] / s['train_step']:.0%}; the input pipeline draws a batch in "
              f"{base['pipeline_seconds_per_batch'] * 1e3:.1f} ms on its own threads (Keras' fit step, pipeline "
              f"included: {base['fit_seconds_per_step'] * 1e3:.0f} ms). A step's FLOPs are counted as 3x the "
              "forward's (the backward computes gradients of inputs and weights); the loss and element-wise "
              "operations are left out of the count, so the achieved FLOP/s is a lower bound.", ""]
    best = max(m["numpy_gflops"], m["tensorflow_gflops"])
    lines += ["## Why the default cannot train in 5 minutes here, and what can", "",
              f"The default schedule is 1,800 updates (10 epochs): {1800 * base['step_gflops'] / 1e3:.1f} TFLOP, which "
              f"take {1800 * base['step_gflops'] / best:.0f} s even at this machine's best matmul rate ({best} GFLOP/s), "
              "before the pipeline, the loss and Keras' own work: the arithmetic alone is over 300 s. Cutting it is the "
              "only way: fewer updates and fewer FLOPs an update. "]
    for v in r["variants"]:
        if "(2, 2)" in v["variant"]:
            lines[-1] += (f"With 2 x 2 upsampling kernels ({v['forward_mflops_per_window']} MFLOP a window, "
                          f"{v['step_gflops']} GFLOP a step) and 4 epochs (724 updates; held-out onset F1 0.967, "
                          "`train_music_speed.md`), the arithmetic is "
                          f"{724 * v['step_gflops'] / 1e3:.1f} TFLOP: {724 * v['step_gflops'] / best:.0f} s at the best "
                          f"matmul rate, {724 * v['fit_seconds_per_step']:.0f} s at this run's measured Keras step.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
