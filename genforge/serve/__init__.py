"""`genforge serve`: a latent explorer in the browser, on 127.0.0.1 only.

    explorer.py   what the page asks for, as library calls on one model (sample, move, interpolate,
                  complete, score, check, download): onnxruntime + numpy, never TensorFlow
    assets.py     a codec's assets <-> the JSON the page draws and edits (tile grids, notes)
    app.py        the Starlette routes over an Explorer, and serving them with uvicorn
    static/       the page: plain HTML, CSS and JavaScript, no build step, nothing from the internet
"""
