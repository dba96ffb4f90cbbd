"""`genforge evaluate`: a model's samples measured beside held-out real data and its training data.

    common.py   distances, summaries, formatting; the data a model was trained on
    plots.py    the reports' figures (Pillow)
    levels.py   `evaluate levels`: playability, structures, novelty, tile-pattern KL, statistics
    music.py    `evaluate music`: scale, mode, polyphony, note statistics, novelty
"""
