"""Piano-roll music: MIDI <-> onset/hold piano rolls <-> bar-aligned grid windows for the VAE.

Knows nothing of Keras, and reads and writes MIDI with mido alone (numpy for everything else).
Nothing is imported here: import from the module that defines a name.

  roll.py      Voice, Segment, Piece; the grid layout (onset/hold planes) and its conversions;
               the shared checks of steps per beat, tempo and time signature
  midi.py      read_midi, write_midi, write_piece (mido); MidiError
  corpus.py    folders of MIDI files (read_folder), notes archives (.npz), labels files
  theory.py    key profiles, key and mode estimates, scales per key
  windows.py   bar-aligned windows of a Piece; transposition
  metres.py    which metres a dataset's windows come in, whole bars per metre in one window length,
               labels that name the metre, bars used per metre
  stats.py     music statistics of grid batches; per-window attributes
  render.py    piano-roll PNG previews and WAV audio
  dataset.py   build_dataset: labelled windows split by whole pieces (MusicDataset)
  codec.py     MusicCodec, the codec the VAE plugs into
  scores.py    music21 scores -> note lists in ticks (pickups, ties, metres): what the builds share
  corpus_build.py  converting many pieces on all cores, cached per piece so a build resumes
  chorales.py  `genforge datasets build chorales`: the music21 Bach chorales as a notes archive
  folk.py      `genforge datasets build folk`: music21's ABC folk tunes as melody archives
  palestrina.py  `genforge datasets build palestrina`: music21's Palestrina masses, per voice count

Each module imports only modules above it in this list, so there is no cycle, and nothing below
codec needs the codec or the dataset builder.
"""
