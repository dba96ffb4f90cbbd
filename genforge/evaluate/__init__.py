"""`genforge evaluate`: a model's samples measured beside held-out real data and its training data.

    common.py        distances, summaries, formatting; the data a model was trained on
    plots.py         the reports' figure panels (Pillow)
    levels.py        `evaluate levels`: playability, structures, novelty, tile-pattern KL, statistics
    level_report.py  its figures, report.md and terminal lines
    music.py         `evaluate music`: scale, mode, polyphony, note statistics, novelty
    music_report.py  its figures, report.md and terminal lines
"""
