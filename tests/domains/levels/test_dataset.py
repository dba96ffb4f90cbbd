"""Training data (dataset.py): one vocabulary and one window shape for several games, each game's
windows at its native size inside it, splits by whole levels, deterministic by seed."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from levels_support import SMB_WIDTHS, windows_of
from support import KID_ICARUS, SMB, TINY_LEVELS, ZELDA, needs_vglc, write_level_folder

from genforge.domains.games import HORIZONTAL, MARIO_TILES, ROOMS, VERTICAL
from genforge.domains.levels.codec import LevelCodec
from genforge.domains.levels.dataset import build_dataset
from genforge.domains.levels.grid import crop_from, to_chars
from genforge.domains.levels.read import read_level_folder
from genforge.errors import GenforgeError


# ---------------------------------------------------------------- the real corpus

@needs_vglc
def test_multi_game_dataset_one_vocabulary_common_shape_native_windows():
    folders = [SMB, KID_ICARUS, ZELDA]
    ds = build_dataset(folders, seed=0, mirror=False)
    assert ds.labels == ["Super Mario Bros", "Kid Icarus", "The Legend of Zelda"]
    used = set()
    for f in folders:
        for p in f.glob("*.txt"):
            if p.name != "README.txt":
                used |= set(p.read_text()) - {"\n"}
    assert ds.vocabulary == "".join(sorted(used))
    assert len(set(ds.vocabulary)) == len(ds.vocabulary)
    assert ds.shape == (16, 28)
    assert [tuple(g["window"]) for g in ds.games] == [(14, 28), (16, 16), (16, 11)]
    assert [g["layout"] for g in ds.games] == [HORIZONTAL, VERTICAL, ROOMS]

    grids = np.concatenate([ds.splits[s][0] for s in ("train", "validation", "test")])
    ids = np.concatenate([ds.splits[s][1] for s in ("train", "validation", "test")])
    assert grids.shape[1:] == (16, 28) and grids.dtype == np.uint8
    assert Counter(ids.tolist()) == {0: 2518, 1: 1165, 2: 459}
    empty = ds.vocabulary.index("-")
    assert np.all(grids[ids == 0][:, :2, :] == empty), "Mario's 14 rows sit at the bottom, sky above"
    assert np.all(grids[ids == 1][:, :, 16:] == empty), "Kid Icarus's 16 columns sit at the left"
    assert np.all(grids[ids == 2][:, :, 11:] == empty), "a Zelda room is 11 columns, the rest padding"

    codec = LevelCodec.from_dataset(ds)
    for label, folder in enumerate(folders):
        s = read_level_folder(folder)
        expect = {w.tobytes() for ws in windows_of(s).values() for w in ws}
        native = to_chars(crop_from(grids[ids == label], tuple(ds.games[label]["window"])), ds.vocabulary)
        assert {w.tobytes() for w in native} == expect, folder.name
        # The codec's crop gives the same native window the game was cut at.
        assert codec.native(grids[ids == label][:1], label).shape[-2:] == tuple(ds.games[label]["window"])

    # One character, three meanings: each game's legend wins for its own label.
    assert codec.legend(0).has("B", "cannon") and not codec.legend(0).has("B", "block")
    assert codec.legend(2).has("B", "block") and not codec.legend(2).has("B", "cannon")
    assert codec.legend(1).has("M", "platform") and codec.legend(2).has("M", "monster")
    assert codec.legend(1).has("D", "solid") and codec.legend(2).has("D", "passable")
    # ... and tiles only another game knows are still described (a blend may use them).
    assert codec.legend(1).has("X", "solid") and codec.legend(2).has("T", "platform")
    for g in ds.games:
        split_names = [set(ds.split[g["name"]][k]) for k in ("train", "validation", "test")]
        assert all(a.isdisjoint(b) for i, a in enumerate(split_names) for b in split_names[i + 1:]), g["name"]


@needs_vglc
def test_the_same_game_twice_is_refused():
    with pytest.raises(GenforgeError, match="same game was given twice"):
        build_dataset([SMB, SMB])


@needs_vglc
def test_splits_are_by_whole_level_and_deterministic():
    ds = build_dataset([SMB], seed=0)
    split_levels = ds.split[ds.games[0]["name"]]
    names = {k: split_levels[k] for k in ("train", "validation", "test")}
    assert [len(names[k]) for k in ("train", "validation", "test")] == [10, 2, 3]
    sets = [set(v) for v in names.values()]
    assert sets[0].isdisjoint(sets[1]) and sets[0].isdisjoint(sets[2]) and sets[1].isdisjoint(sets[2])
    assert set().union(*sets) == {f"mario-{k}" for k in SMB_WIDTHS}
    assert ds.labels == [] and ds.vocabulary == "".join(sorted(MARIO_TILES))

    # Each split holds exactly the windows of its own levels.
    s = read_level_folder(SMB)
    wins = windows_of(s)
    for split in ("train", "validation", "test"):
        grids, ids = ds.splits[split]
        assert len(grids) == sum(SMB_WIDTHS[n.removeprefix("mario-")] - 27 for n in names[split]), split
        assert np.all(ids == 0)
        expect = {w.tobytes() for n in names[split] for w in wins[n]}
        got = {w.tobytes() for w in to_chars(grids, ds.vocabulary)}
        assert got == expect, split
    # A test window is never a training window unless the two levels share that exact stretch.
    train_set = {w.tobytes() for w in ds.splits["train"][0]}
    shared = np.mean([w.tobytes() in train_set for w in ds.splits["test"][0]])
    assert shared < 0.5

    again = build_dataset([SMB], seed=0)
    again_split = again.split["Super Mario Bros"]
    assert again_split["test"] == split_levels["test"] and again_split["train"] == split_levels["train"]
    for split in ("train", "validation", "test"):
        assert np.array_equal(again.splits[split][0], ds.splits[split][0])
    others = [build_dataset([SMB], seed=s).split["Super Mario Bros"]["test"] for s in (1, 2, 3)]
    assert any(set(o) != set(split_levels["test"]) for o in others), "the seed must choose the held-out levels"


@needs_vglc
def test_stride_thins_only_the_training_windows():
    ds1, ds2 = build_dataset([SMB], seed=0), build_dataset([SMB], stride=2, seed=0)
    names = ds1.split["Super Mario Bros"]["train"]
    assert len(ds2.splits["train"][0]) == sum(-(-(SMB_WIDTHS[n[6:]] - 27) // 2) for n in names)
    assert np.array_equal(ds2.splits["test"][0], ds1.splits["test"][0])
    assert np.array_equal(ds2.splits["validation"][0], ds1.splits["validation"][0])


# ---------------------------------------------------------------- a tiny folder, no corpus needed

def test_two_levels_are_all_training_and_a_note_says_so(tmp_path):
    folder = write_level_folder(tmp_path, levels={k: TINY_LEVELS[k] for k in ("alpha", "beta")})
    ds = build_dataset([folder])
    assert any("none held out" in n for n in ds.notes), ds.notes
    assert len(ds.splits["train"][0]) == 6 + 6, "3 windows a level, and each again mirrored"
    assert np.array_equal(ds.splits["test"][0], ds.splits["train"][0][:6]), "held-out stand-ins are not mirrored"


@needs_vglc
def test_training_windows_are_mirrored_only_for_legends_without_side_bound_tiles():
    icarus, plain = build_dataset([KID_ICARUS], seed=0), build_dataset([KID_ICARUS], seed=0, mirror=False)
    n = len(plain.splits["train"][0])
    assert len(icarus.splits["train"][0]) == 2 * n
    assert np.array_equal(icarus.splits["train"][0][n:], plain.splits["train"][0][:, :, ::-1])
    for split in ("validation", "test"):
        assert np.array_equal(icarus.splits[split][0], plain.splits[split][0])
    smb = build_dataset([SMB], seed=0)  # pipes have left and right halves: never mirrored
    assert not any("mirrored" in note for note in smb.notes)
    assert len(smb.splits["train"][0]) == len(build_dataset([SMB], seed=0, mirror=False).splits["train"][0])
