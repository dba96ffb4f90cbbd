"""Generation speed: end-to-end `genforge sample levels -n 100` and `genforge sample music -n 10`
in fresh processes, and decoder throughput through onnxruntime against the Keras decoder (and
Keras' own ONNX export of it) in the same run.

    python benchmarks/sample_speed.py [--model RUN] [--repeats 7]

Medians of repeated runs; results in benchmarks/results/sample_speed.json and .md.
The machines are shared and noisy: read ratios and medians, never single numbers.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SCRATCH = ROOT / "outputs"


def file_creation_floor(folder: Path, files: int, repeats: int) -> float:
    """Median seconds to create `files` small files in a fresh folder under `folder`: the part of
    writing levels that is the disk's, not genforge's."""
    times = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(dir=folder) as out:
            started = time.perf_counter()
            for i in range(files):
                with open(os.path.join(out, f"f{i}"), "wb") as f:
                    f.write(b"x" * 4096)
            times.append(time.perf_counter() - started)
    return round(statistics.median(times), 3)


# A user's Python caches compiled modules (pip compiles them at install; an editable install
# writes __pycache__ on first use). Some sandboxes set PYTHONDONTWRITEBYTECODE, which makes every
# start compile genforge's modules again (about 0.1 s): the runs below use the cache, as users do.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
# `python -m genforge ARGS`, reporting its peak RSS as it leaves (the command ends in os._exit)
PROBE = ("import os, resource, runpy, sys; sys.argv = ['genforge'] + sys.argv[1:]; leave = os._exit\n"
         "def report(code):\n"
         "    print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr, flush=True)\n"
         "    leave(code)\n"
         "os._exit = report\n"
         "runpy.run_module('genforge', run_name='__main__')")


def end_to_end(args: list[str], repeats: int, folders: dict[str, Path]) -> dict:
    """Wall time and peak RSS of a whole CLI run, each in a fresh interpreter, writing into a new
    folder under each of `folders` in turn (interleaved, so both see the machine alike), after one
    untimed run that fills the bytecode cache."""
    times = {name: [] for name in folders}
    peaks = []
    for run in range(repeats + 1):
        for name, folder in folders.items():
            with tempfile.TemporaryDirectory(dir=folder) as out:
                started = time.perf_counter()
                # a new folder, as a first `genforge sample` into outputs/levels makes
                done = subprocess.run([sys.executable, "-c", PROBE, *args, "--out", os.path.join(out, "new")],
                                      capture_output=True, text=True, env=ENV)
                if done.returncode:
                    raise SystemExit(done.stderr)
                if run:  # run 0 warms the cache
                    times[name].append(time.perf_counter() - started)
                    peaks.append(int(done.stderr.split("PEAK")[-1]) / 1024)
    out = {"command": "genforge " + " ".join(args), "runs": repeats, "peak_memory_mb": round(max(peaks), 1)}
    for name, ts in times.items():
        out[name] = {"folder": str(folders[name]), "median_seconds": round(statistics.median(ts), 3),
                     "min_seconds": round(min(ts), 3), "seconds": [round(t, 3) for t in ts]}
    return out


def throughput(fn, z: np.ndarray, labels: np.ndarray, repeats: int, budget: float = 1.0) -> float:
    """Samples per second: median over `repeats` timings of as many calls as fit in `budget` s."""
    fn(z, labels)  # warm-up: graph compilation, allocations
    rates = []
    for _ in range(repeats):
        calls, started = 0, time.perf_counter()
        while True:
            fn(z, labels)
            calls += 1
            elapsed = time.perf_counter() - started
            if elapsed > budget / repeats and calls >= 2:
                break
        rates.append(calls * len(z) / elapsed)
    return statistics.median(rates)


def decoder_throughput(model: Path, repeats: int) -> dict:
    """Windows per second through the bundle's decoder.onnx (as `genforge sample` runs it), through
    the Keras decoder (the baseline), and through Keras' own ONNX export of that decoder (what
    genforge's Gemm graph replaced: genforge.core.onnx_decoder), all in this run."""
    from genforge.bundle import open_bundle
    from genforge.core import latent
    from genforge.runtime import OnnxNet, decoder

    bundle = open_bundle(model)
    net = decoder(bundle)
    n_labels = len(bundle.labels)
    out = {}
    keras_decoder = keras_export = None
    keras_path = bundle.path / "decoder.keras"
    scratch = tempfile.TemporaryDirectory()
    if keras_path.is_file():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import keras

        from genforge.train import export_onnx

        keras_decoder = keras.saving.load_model(keras_path, compile=False)
        keras_export = OnnxNet(export_onnx(keras_decoder, Path(scratch.name) / "keras-decoder.onnx"), n_labels)
    for batch in (1, 1024):
        z = np.random.default_rng(0).standard_normal((batch, bundle.latent_dim)).astype(np.float32)
        labels = latent.one_hot(np.zeros(batch, int), n_labels)
        row = {"onnxruntime_per_second": round(throughput(net, z, labels, repeats))}
        if keras_decoder is not None:
            inputs = (lambda z, y: [z, y]) if n_labels else (lambda z, y: [z])
            # predict_on_batch: one compiled call per batch, Keras' fastest inference path
            row["keras_per_second"] = round(throughput(lambda z, y: keras_decoder.predict_on_batch(inputs(z, y)),
                                                       z, labels, repeats))
            row["ratio_onnx_to_keras"] = round(row["onnxruntime_per_second"] / row["keras_per_second"], 2)
            row["keras_onnx_export_per_second"] = round(throughput(keras_export, z, labels, repeats))
        out[f"batch_{batch}"] = row
    scratch.cleanup()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=ROOT / "genforge" / "models" / "levels")
    parser.add_argument("--repeats", type=int, default=7)
    a = parser.parse_args()
    SCRATCH.mkdir(exist_ok=True)
    # outputs/ is where `genforge sample` writes by default. On the VMs this was measured on, its
    # disk fetches never-used blocks lazily: creating 301 files took anywhere from 0.01 to 0.4 s,
    # run to run. A RAM folder, where the system has one, gives the same runs without that.
    folders = {"project_disk": SCRATCH}
    if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK):
        folders["ram_folder"] = Path("/dev/shm")
    os.chdir(ROOT)  # the commands run in the project, and the results name paths relative to it
    model = a.model.resolve().relative_to(ROOT) if a.model.resolve().is_relative_to(ROOT) else a.model
    folders = {name: folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder
               for name, folder in folders.items()}
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "model": str(model),
        "sample_levels_n100": end_to_end(["sample", "levels", "-n", "100", "--seed", "1", "--model", str(model)],
                                         a.repeats, folders),
        "sample_music_n10": end_to_end(["sample", "music", "-n", "10", "--seed", "1"], a.repeats,
                                       {"project_disk": SCRATCH}),
        "create_301_files_seconds": {name: file_creation_floor(folder, 301, a.repeats)
                                     for name, folder in folders.items()},
        "decoder": decoder_throughput(a.model, a.repeats),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "sample_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    s, d = result["sample_levels_n100"], result["decoder"]
    lines = ["# Sampling speed", "", f"Machine: {result['machine']}. Model: `{model}`.", "",
             "| measure | median | note |", "|---|---|---|"]
    where = {"project_disk": "into outputs/ (the project's disk)", "ram_folder": "into a RAM folder (/dev/shm)"}
    for name in folders:
        lines.append(f"| `{s['command'].split(' --model')[0]}`, fresh process, writing maps and previews "
                     f"{where[name]} | {s[name]['median_seconds']} s | min {s[name]['min_seconds']} s over "
                     f"{s['runs']} runs, interleaved; peak RSS {s['peak_memory_mb']} MB |")
    for name in folders:
        lines.append(f"| creating 301 small files {where[name]}, measured after the runs above (the disk's "
                     f"share; its speed changes from minute to minute) | "
                     f"{result['create_301_files_seconds'][name]} s | plain `open`/`write`, no genforge |")
    m = result["sample_music_n10"]
    lines.append(f"| `{m['command']}` (bundled music model), fresh process, writing .mid, .png and .wav | "
                 f"{m['project_disk']['median_seconds']} s | min {m['project_disk']['min_seconds']} s over "
                 f"{m['runs']} runs; peak RSS {m['peak_memory_mb']} MB |")
    for batch, row in d.items():
        keras_txt = f"Keras {row['keras_per_second']:,}/s; ratio {row['ratio_onnx_to_keras']}x; Keras' own " \
                    f"ONNX export {row['keras_onnx_export_per_second']:,}/s" \
            if "keras_per_second" in row else "no decoder.keras to compare"
        lines.append(f"| decoder throughput, {batch.replace('_', ' ')} | {row['onnxruntime_per_second']:,} windows/s "
                     f"| {keras_txt} |")
    (RESULTS / "sample_speed.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
