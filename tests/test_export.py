"""genforge export: the engine package of a model whose prior is a mixture carries prior.onnx, and
its README's code samples a level with onnxruntime alone, the way genforge samples it."""
from __future__ import annotations

import json

import numpy as np
from support import needs_vglc, run_exported_readme


@needs_vglc
def test_a_mixture_prior_travels_as_onnx_and_the_readme_runs_without_genforge(tiny_model, tmp_path):
    pkg = tmp_path / "pkg"
    run = run_exported_readme(tiny_model, pkg, "\nnp.save('z.npy', z)")
    assert run.returncode == 0, run.stderr
    sidecar = json.loads((pkg / "genforge-decoder.json").read_text())
    prior = sidecar["latent_prior"]
    assert prior["kind"] == "mixture" and prior["file"] == "prior.onnx" and (pkg / "prior.onnx").is_file()
    assert prior["components_per_label"][0][0] == 0 and prior["components_per_label"][0][1] == prior["components"]
    rows = run.stdout.splitlines()
    h, w = sidecar["levels"]["games"][0]["window"]
    assert len(rows) == h and {len(r) for r in rows} == {w}
    # the README's latents are draws of the model's own mixture: each near one of its components
    from genforge.bundle import open_bundle

    mix = open_bundle(tiny_model).prior
    z = np.load(pkg / "z.npy")
    scaled = (z[:, None] - mix["means"][None]) / mix["spreads"][None]
    assert (np.abs(scaled).max(-1).min(1) < 6).all()
