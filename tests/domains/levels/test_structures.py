"""Multi-tile structures (structures.py): broken pipes and cannons are found, whole ones are not
(the corpus's own slips included), and repair mends them the way the decoder finds most likely."""
from __future__ import annotations

import numpy as np
from levels_support import grid, mario
from support import SMB, SMB2J, needs_vglc

from genforge.domains.levels.grid import cut_windows
from genforge.domains.levels.playability import Checker
from genforge.domains.levels.read import read_level_folder


# ---------------------------------------------------------------- structures, hand-made

def test_broken_pipes_and_cannons_are_found_whole_ones_are_not():
    c = mario()
    g = grid(["-" * 12] * 13 + ["X" * 12])
    g[10, 2:4], g[11:13, 2], g[11:13, 3] = ["<", ">"], "[", "]"   # a whole pipe on the ground
    g[11, 7], g[12, 7] = "B", "b"                                  # a whole cannon
    assert c.structure_problems(g) == []
    floating = g.copy()
    floating[11:13, 2:4] = "-"  # the pipe's mouth floats
    assert any("floats" in m for _, _, m in c.structure_problems(floating))
    cut = g.copy()
    cut[10, 3] = "-"            # a mouth without its right half
    assert any("lacks" in m for _, _, m in c.structure_problems(cut))
    headless = g.copy()
    headless[11, 7] = "-"       # a cannon base without its top
    assert any("cannon" in m for _, _, m in c.structure_problems(headless))
    hanging = grid(["X" * 12] + ["-" * 12] * 12 + ["X" * 12])
    hanging[1:4, 5], hanging[1:4, 6], hanging[4, 5:7] = "[", "]", ["<", ">"]  # a pipe from the ceiling (SMB2J)
    assert c.structure_problems(hanging) == []
    assert c.broken(np.stack([g, floating, cut, headless, hanging])).tolist() == [False, True, True, True, False]


def test_a_pipe_cut_by_the_window_edge_is_whole():
    g = grid(["-" * 10] * 13 + ["X" * 10])
    g[10, 9], g[11:13, 9] = "<", "["     # its right half lies beyond the window
    assert mario().structure_problems(g) == []


# ---------------------------------------------------------------- the real corpus

@needs_vglc
def test_structure_check_flags_only_the_corpus_transcription_errors():
    found = {}
    for folder in (SMB, SMB2J):
        s = read_level_folder(folder)
        c = Checker.for_game(s.game, s.legend, s.layout)
        for lv in s.levels:
            problems = c.structure_problems(lv.grid)
            if problems:
                found[lv.name] = sorted({(m.split(":")[0].split(" ")[0]) for _, _, m in problems})
    # A floating cannon in 7-1 and 4-2, a pipe missing its '[' tiles in SMB2J 1-2, a pipe mouth
    # missing its '>' in D-1: the VGLC's own slips. Upside-down pipes and pipes through floating
    # platforms (SMB2J) are whole.
    assert found == {"mario-7-1": ["cannon"], "SuperMarioBros2(J)-World1-2": ["pipe"],
                     "SuperMarioBros2(J)-World4-2": ["cannon"], "SuperMarioBros2(J)-WorldD-1": ["pipe"]}


# ---------------------------------------------------------------- structure repair

VOCAB = "-X<>[]Bb"


def log_probs_favouring(g: np.ndarray, bias: dict[str, float] | None = None) -> np.ndarray:
    """Log-probabilities that put 0.9 on each cell's present tile, plus optional shifts per tile."""
    p = np.full((*g.shape, len(VOCAB)), 0.1 / (len(VOCAB) - 1))
    for i, ch in enumerate(VOCAB):
        p[..., i][g == ch] = 0.9
    logp = np.log(p)
    for ch, b in (bias or {}).items():
        logp[..., VOCAB.index(ch)] += b
    return logp


def test_repair_removes_a_lone_pipe_piece_when_the_decoder_backs_nothing_more():
    g = grid(["-" * 12] * 11 + ["-----<------"] + ["X" * 12] * 2)   # a '<' without its '>' or body
    c = mario()
    assert c.structure_problems(g)
    fixed = c.repair(g, log_probs_favouring(g), VOCAB)
    assert not c.structure_problems(fixed) and "<" not in "".join(fixed.ravel())
    assert (fixed[-2:] == "X").all(), "the ground stays"


def test_repair_completes_a_pipe_the_decoder_half_believes_in():
    rows = ["-" * 12] * 8 + ["-----<>-----", "-----[------", "-----[------", "------------"] + ["X" * 12] * 2
    g = grid(rows)   # a mouth over a one-sided body that stops short of the ground
    c = mario()
    logp = log_probs_favouring(g)
    logp[9:12, 6, VOCAB.index("]")] = np.log(0.45)                  # the decoder's second choice: ']'
    logp[11, 5, VOCAB.index("[")] = np.log(0.45)
    fixed = c.repair(g, logp, VOCAB)
    assert not c.structure_problems(fixed)
    assert ["".join(r[5:7]) for r in fixed[8:12]] == ["<>", "[]", "[]", "[]"], "a whole pipe down to the ground"


def test_repair_leaves_whole_levels_alone():
    g = grid(["-" * 12] * 10 + ["-----<>-----", "-----[]-----"] + ["X" * 12] * 2)
    c = mario()
    assert not c.structure_problems(g)
    assert (c.repair(g, log_probs_favouring(g), VOCAB) == g).all()


@needs_vglc
def test_a_game_without_a_preset_gets_the_structures_its_legend_names():
    """Super Mario Land has no preset; its legend's pipe and cannon tags give it the pipe and
    cannon checks, and its own levels pass them."""
    from support import VGLC

    s = read_level_folder(VGLC / "Super Mario Land")
    checker = Checker.for_game(s.game, s.legend, s.layout)
    assert {st["name"] for st in checker.structures} == {"pipe", "cannon"}
    broken = np.array([list("--<>--"), list("------"), list("XXXXXX")])  # a pipe top floating over nothing
    assert checker.broken(broken[None])[0]
    problems = {lv.name: checker.structure_problems(lv.grid) for lv in s.levels}
    # the one slip of the transcription: a pipe's left half alone in 1-1 (the game has it whole)
    assert {name: p for name, p in problems.items() if p} == {
        "super_mario_land_11": [(13, 207, "pipe: '[' lacks its ']' right of it")]}
    windows = np.concatenate([cut_windows(lv, s.layout, s.window, s.legend.empty) for lv in s.levels])
    assert checker.broken(windows).sum() == 31  # every window holding that spot (32 columns, one cut off)
