"""Tile-grid levels: VGLC text and Tiled maps <-> character grids <-> one-hot windows. Knows
nothing of Keras. A level is a 2-D numpy array of one-character strings; a model sees one-hot
windows cut from levels; a decoded window goes back to characters and out as VGLC text, a Tiled
map (.tmj, tileset embedded) and a PNG preview.

Modules; each imports, of this package, only modules listed above it:

    grid.py         TileLegend, Level; windows cut, fitted, padded and cropped; tile indices, one-hot, text
    read.py         reading level files: VGLC text and legends, level folders (LevelSet), Tiled maps
    tiles.py        tile colours and glyphs, previews, Tiled output (tileset image, tileset, map)
    masks.py        boolean masks of tile grids: tiles present, shifted masks, 4-connected groups
    platformer.py   the platformer and climber search (Moves)
    structures.py   multi-tile structures (pipes, cannons): broken ones found and repaired
    playability.py  the checkers' rules, Checker and CheckResult
    check.py        `genforge check`: level files checked as whole levels, the check drawn
    dataset.py      training data: LevelDataset, build_dataset
    codec.py        LevelCodec, what the shared VAE core and generation call
    chain.py        full-length levels (`sample levels --length`) chained from decoded windows

Nothing is imported here: import the module that defines a name.
"""
