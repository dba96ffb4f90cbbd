"""`genforge serve`: the latent explorer in the browser."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from genforge.cli.common import MODEL_HELP


def serve(
    model: Optional[Path] = typer.Option(None, "--model", help=MODEL_HELP),
    domain: Optional[str] = typer.Option(None, "--domain", help="levels or music: which bundled model to explore "
                                         "without --model (default levels); a run folder's own otherwise."),
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1; 0 picks a free one."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the address only; open no browser."),
):
    """Explore a model in the browser: samples, sliders through the latent space, interpolation,
    conditioning, paint-and-complete, style score, playability path, piano roll with playback,
    downloads. Served on 127.0.0.1 only, until Ctrl-C; needs the serve extra.

    Examples:

      genforge serve

      genforge serve --domain music --no-browser

      genforge serve --model outputs/runs/smb --port 8765
    """
    if domain is not None and domain not in ("levels", "music"):
        from genforge.errors import GenforgeError

        raise GenforgeError(f"--domain must be levels or music, got {domain!r}")
    try:
        from genforge.serve.app import serve as run_explorer
    except ImportError as e:
        from genforge.errors import GenforgeError

        raise GenforgeError(f"genforge serve needs the serve extra ({e.name} is missing): "
                            "pip install \"genforge[serve]\"") from None
    run_explorer(model, domain, port, not no_browser, typer.echo)
