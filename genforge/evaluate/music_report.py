"""The music evaluation's figures and text: attribute histograms and piano rolls (PNG), report.md,
and the lines `genforge evaluate music` prints."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from genforge.atomic import write_bytes
from genforge.domains.music.stats import ATTRIBUTES
from genforge.evaluate.common import SETS, finite, fmt, percent
from genforge.evaluate.plots import hist_panel, histogram_edges, legend_strip, with_legend
from genforge.images import png_bytes, sheet

SET_COLOURS = {"samples": (214, 39, 40), "held_out": (31, 119, 180), "training": (120, 120, 120)}
MEASURES = (                  # key in the report -> words in report.md
    ("in_asked_mode_scale", "in the asked mode's scale (best tonic)"),
    ("estimated_mode_agrees", "estimated mode agrees with the asked one"),
    ("in_scale_share", "in-scale share (each window's own key)"),
    ("polyphony", "polyphony (notes sounding at once)"),
    ("pitch_classes_per_bar", "pitch classes per bar"),
    ("empty_bar_rate", "empty-bar rate"),
    ("qualified_note_rate", "qualified-note rate (notes >= 2 steps)"),
    ("notes_per_bar", "notes per bar"),
    ("silent_windows", "silent windows"),
)


def figures(codec, per_condition: dict, rolls: dict, out: Path) -> list[str]:
    written = []
    legend = [("samples", SET_COLOURS["samples"]), ("held-out", SET_COLOURS["held_out"]),
              ("training", SET_COLOURS["training"])]
    rows = []
    for key, measured in per_condition.items():
        panels = []
        for a in ATTRIBUTES:
            values = {s: finite(measured[s]["attributes"][a]) for s in SETS}
            present = [v for v in values.values() if len(v)]
            if not present:
                continue
            edges = histogram_edges(present)
            top = 1.05 * max(float((np.histogram(v, edges)[0] / len(v)).max()) for v in present)
            series = [(values[s], SET_COLOURS[s]) for s in ("training", "held_out", "samples") if len(values[s])]
            panels.append(hist_panel(f"{key}: {a}", series, edges, top or 1.0))
        if panels:
            rows.append(np.concatenate(panels, 1))
    if rows:
        image = with_legend(sheet(rows, columns=1), legend)
        written.append(write_bytes(out / "stats.png", png_bytes(image)).name)

    blocks = []
    for key, (samples, held, label_id) in rolls.items():
        views = [codec.preview(g, label_id) for g in samples]
        held_views = [codec.preview(g, label_id) for g in held]
        parts = [sheet(views, columns=len(views))] if views else []
        if held_views:
            parts.append(sheet(held_views, columns=len(held_views)))
        if not parts:
            continue
        row = sheet(parts, columns=len(parts), gap=24)
        caption = legend_strip([(f"{key}: {len(views)} samples (left)", SET_COLOURS["samples"]),
                                 (f"{len(held_views)} held-out windows (right)", SET_COLOURS["held_out"])],
                                row.shape[1])[:, :row.shape[1]]
        blocks.append(np.concatenate([caption, row], 0))
    if blocks:
        written.append(write_bytes(out / "rolls.png", png_bytes(sheet(blocks, columns=1, gap=16))).name)
    return written




def _table(entry: dict) -> list[str]:
    lines = ["| measure | samples | held-out | training | gap (samples vs held-out) |", "|---|---|---|---|---|"]
    words = dict(MEASURES)
    for k, row in entry["measures"].items():
        lines.append(f"| {words[k]} | {fmt(row['samples'])} | {fmt(row['held_out'])} | {fmt(row['training'])} | "
                     f"{percent(row['gap'])} |")
    nov = entry["novelty"]
    lines.append(f"| novelty: share of cells differing from the nearest training window | "
                 f"{fmt(nov['samples']['mean'])} | {fmt(nov['held_out']['mean'])} | - | {percent(nov['gap'])} |")
    lines.append(f"| share identical to a training window (any key) | {fmt(nov['samples']['share_identical'])} | "
                 f"{fmt(nov['held_out']['share_identical'])} | - | - |")
    auc = entry.get("two_sample_auc")
    if auc:
        lines.append(f"| two-sample AUC against the held-out windows (0.5: indistinguishable; for training windows "
                     f"the real-vs-real reference) | {fmt(auc['samples_vs_held_out'])} | - | "
                     f"{fmt(auc['training_vs_held_out'])} | - |")
    if entry.get("voices"):
        lines += ["", "Per voice: clusters (share of the voice's onsets where it starts two or more notes at once) "
                  "and notes per beat:", "",
                  "| voice | clusters: samples | held-out | training | notes per beat: samples | held-out | training "
                  "| gap |", "|---|---|---|---|---|---|---|---|"]
        for name, row in entry["voices"].items():
            c, b = row["clusters"], row["notes_per_beat"]
            lines.append(f"| {name} | {fmt(c['samples'])} | {fmt(c['held_out'])} | {fmt(c['training'])} | "
                         f"{fmt(b['samples'])} | {fmt(b['held_out'])} | {fmt(b['training'])} | {percent(b['gap'])} |")
    lines += ["", "Per window (mean ± std):", "",
              "| attribute | samples | held-out | training | gap (samples vs held-out) |", "|---|---|---|---|---|"]
    for a, row in entry["attributes"].items():
        def cell(s, row=row):
            return f"{fmt(row[s]['mean'])} ± {fmt(row[s]['std'])}" if row[s]["mean"] is not None else "-"
        lines.append(f"| {a} | {cell('samples')} | {cell('held_out')} | {cell('training')} | {percent(row['gap'])} |")
    return lines


def markdown(report: dict) -> str:
    lines = [f"# Music evaluation: {report['model']}", "",
             f"{report['n']} samples per condition (seed {report['seed']}, temperature {report['temperature']:g}"
             f"{', condition ' + report['condition'] if report['condition'] else ''}), genforge "
             f"{report['genforge_version']}. Held-out: the test windows of the model's own split "
             f"({report['held_out_pieces']} whole pieces never trained on); training: its untransposed training "
             f"windows. Data: {', '.join(report['data'])}.", ""]
    lines += [f"Note: {n}" for n in report["notes"]] + ([""] if report["notes"] else [])
    sections = list(report["conditions"].items()) + \
        ([("All conditions (pooled)", report["pooled"])] if report.get("pooled") else [])
    for title, e in sections:
        w = e["windows"]
        metre = e.get("metre")
        where = f" Measured on {metre['bars']} bar(s) of {metre['time_signature']} ({metre['steps']} steps)." \
            if metre else ""
        lines += [f"## {title}", "",
                  f"Windows: {w['samples']} samples, {w['held_out']} held-out, {w['training']} training.{where}", ""]
        lines += _table(e) + [""]
    figures = {"stats.png": "histograms of the per-window attributes, samples over held-out and training",
               "rolls.png": "a few sample piano rolls beside held-out ones"}
    lines.append("Figures: " + "; ".join(f"`{f}`, {figures.get(f, '')}" for f in report.get("figures", [])) + ".")
    lines.append("")
    lines.append("Definitions: see `genforge/evaluate/music.py` (ratios pool counts over windows; mode measures use "
                 "the asked mode for samples and the piece's label for real windows; novelty compares windows moved "
                 "to an estimated tonic of C, so a transposed copy counts as a copy).")
    return "\n".join(lines) + "\n"


SUMMARY_MEASURES = ("in_asked_mode_scale", "estimated_mode_agrees", "in_scale_share", "polyphony",
                    "pitch_classes_per_bar", "qualified_note_rate", "empty_bar_rate")


def summary_lines(report: dict) -> list[str]:
    """A few lines per condition for the terminal: the key measures, samples beside held-out."""
    lines = []
    for key, e in list(report["conditions"].items()) + ([("all conditions", report["pooled"])]
                                                       if report.get("pooled") else []):
        lines.append(f"{key}: {e['windows']['samples']} samples, {e['windows']['held_out']} held-out windows")
        for k in SUMMARY_MEASURES:
            row = e["measures"].get(k)
            if row:
                lines.append(f"  {k:<23} samples {fmt(row['samples'])}  held-out {fmt(row['held_out'])}  "
                             f"gap {percent(row['gap'])}")
        for name, row in e.get("voices", {}).items():
            c, b = row["clusters"], row["notes_per_beat"]
            lines.append(f"  {name:<9} clusters samples {fmt(c['samples'])}  held-out {fmt(c['held_out'])}  "
                         f"notes/beat samples {fmt(b['samples'])}  held-out {fmt(b['held_out'])}")
        nov = e["novelty"]
        lines.append(f"  {'novelty':<23} samples {fmt(nov['samples']['mean'])}  "
                     f"held-out {fmt(nov['held_out']['mean'])}  identical {fmt(nov['samples']['share_identical'])}")
        auc = e.get("two_sample_auc")
        if auc:
            lines.append(f"  {'two-sample AUC':<23} samples {fmt(auc['samples_vs_held_out'])}  training "
                         f"{fmt(auc['training_vs_held_out'])}  (against the held-out windows)")
    return lines
