"""genforge.bundle: the run folder's metadata and prior, and what older bundles kept elsewhere."""
from __future__ import annotations

import json

import numpy as np
import pytest

from genforge.bundle import PRIOR_FILE, default_model, open_bundle, write_prior
from genforge.core import latent
from genforge.errors import GenforgeError


def correlated_codes(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3)) @ np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.3, 0.5, 0.8]]).T


def test_bundled_models_keep_their_prior_in_a_binary_file():
    for domain in ("levels", "music"):
        path = default_model(domain)
        meta = json.loads((path / "genforge.json").read_text())
        assert "prior" not in meta and meta["files"]["prior"] == PRIOR_FILE
        bundle = open_bundle(path)
        prior, d = bundle.prior, meta["latent_dim"]
        k = len(prior["labels"])  # the aggregate posterior: one component per training window (or a share of them)
        assert prior["kind"] == "mixture" and prior["means"].shape == (k, d) and prior["spreads"].shape == (k, d)
        assert (prior["spreads"] > 0).all() and set(prior["labels"].tolist()) == set(range(len(bundle.labels)))
        assert prior["training_hashes"] is not None and len(prior["training_hashes"]) >= k


def test_prior_file_round_trip_and_inline_priors_of_older_runs(tmp_path):
    prior = latent.fit_prior(correlated_codes(500))
    write_prior(tmp_path, prior)
    assert not list(tmp_path.glob(".*.tmp"))
    meta = {"format": "genforge-run", "format_version": 1, "domain": "levels", "latent_dim": 3,
            "labels": [], "files": {"prior": PRIOR_FILE}}
    (tmp_path / "genforge.json").write_text(json.dumps(meta))
    loaded = open_bundle(tmp_path).prior
    assert np.allclose(loaded["scale_tril"], prior["scale_tril"]) and loaded["mean"].dtype == np.float32
    # a run written before prior.npz existed kept the prior inside genforge.json
    meta["files"] = {}
    meta["prior"] = {k: np.asarray(v).tolist() if k != "kind" else v for k, v in prior.items()}
    (tmp_path / "genforge.json").write_text(json.dumps(meta))
    assert np.allclose(open_bundle(tmp_path).prior["mean"], prior["mean"])


def test_a_damaged_prior_file_is_one_clear_error(tmp_path):
    (tmp_path / PRIOR_FILE).write_bytes(b"not an npz")
    meta = {"format": "genforge-run", "format_version": 1, "domain": "levels", "latent_dim": 3,
            "labels": [], "files": {"prior": PRIOR_FILE}}
    (tmp_path / "genforge.json").write_text(json.dumps(meta))
    with pytest.raises(GenforgeError, match="unreadable prior.npz"):
        open_bundle(tmp_path).prior


def test_options_read_back_from_an_older_bundles_command():
    from genforge.bundle import options_from_command

    got = options_from_command("genforge train music --data 'a b' --data=c/d --seed 0 --labels=folder --quiet "
                               "--out runs/x")
    assert got == {"data": ["a b", "c/d"], "seed": "0", "labels": "folder", "quiet": True, "out": "runs/x"}
    assert options_from_command("genforge train levels --data 'unclosed") == {}


def strip_to_format_of_older_bundles(src, dst):
    """A copy of a bundle as genforge wrote it before bundles recorded data, split and options."""
    import shutil

    shutil.copytree(src, dst)
    meta = json.loads((dst / "genforge.json").read_text())
    split = meta["split"]
    for key in ("data", "split", "options", "hashes"):
        meta.pop(key, None)
    if meta["domain"] == "levels":  # they listed each game's levels per split in the codec's games
        for game in meta["codec"]["games"]:
            game.update({f"{part}_levels": names for part, names in split[game["name"]].items()})
    else:  # and the held-out pieces in a note
        (parts,) = split.values()
        meta["notes"] = [*meta.get("notes", []), f"held-out test pieces ({len(parts['test'])}): "
                         + ", ".join(parts["test"])]
    (dst / "genforge.json").write_text(json.dumps(meta))
    return dst


def test_an_older_bundle_gives_the_same_data_split_and_options(tmp_path):
    for domain in ("levels", "music"):
        new = open_bundle(default_model(domain))
        old = open_bundle(strip_to_format_of_older_bundles(default_model(domain), tmp_path / domain))
        assert "split" not in old.meta and "options" not in old.meta
        assert [str(p) for p in old.data_folders()] == [str(p) for p in new.data_folders()]
        assert old.options["data"] == new.options["data"] and str(old.options["seed"]) == str(new.options["seed"])
        if domain == "levels":
            assert old.split == new.split
        else:  # older music bundles named only their test pieces, in a note
            (folder, parts), = new.split.items()
            assert sorted(old.split[""]["test"]) == sorted(parts["test"]) and len(parts["test"]) == 70


def test_recorded_paths_are_relative_and_found_from_the_project(tmp_path, monkeypatch):
    from genforge.bundle import relative_path

    for domain in ("levels", "music"):
        meta = json.loads((default_model(domain) / "genforge.json").read_text())
        words = json.dumps({k: meta[k] for k in ("command", "data", "split", "options", "notes")})
        assert "/work/" not in words and "/home/" not in words and "/root/" not in words
    monkeypatch.chdir(tmp_path)  # elsewhere: the bundled model's data is found under the project
    found = open_bundle(default_model("levels")).data_folders()
    assert [p.name for p in found] == ["Super Mario Bros", "Super Mario Bros 2 (Japan)"]
    assert relative_path(tmp_path / "a" / "b") == "a/b" and relative_path("x/y") == "x/y"
