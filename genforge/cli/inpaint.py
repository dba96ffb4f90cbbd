"""`genforge inpaint levels | music`: fill the unknown part of a sketch, through the exported
decoder and encoder (onnxruntime + numpy)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from genforge.cli.common import MODEL_HELP, report_written

app = typer.Typer(help="Fill the unknown cells of a level sketch, or chosen bars of a tune, in the model's style.",
                  no_args_is_help=True)


@app.command("levels")
def inpaint_levels(
    sketch: Path = typer.Argument(..., help="A level sketch: Tiled map (.tmj) or VGLC text (.txt)."),
    out: Path = typer.Option(Path("outputs/filled"), "--out", help="Folder to write .tmj, .txt and .png files to."),
    region: Optional[list[str]] = typer.Option(None, "--region", help="Cells to fill besides the marked ones: "
                                               "C0:C1 (columns) or R0:R1,C0:C1 (rows,columns; 0-based, end "
                                               "excluded); repeatable."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    condition: Optional[str] = typer.Option(None, help="The game to fill as (default: the map's, else the first)."),
    seed: int = typer.Option(0, help="Same seed, same fill."),
):
    """Fill a level sketch's unknown cells; the known cells stay exactly as given.

    Unknown cells: the tile '*' (VGLC text, or a Tiled tile whose `char` property is '*'), any tile
    on a Tiled layer named `unknown`, or --region. Levels wider than the model's window are filled
    window by window, left to right; broken pipes and cannons are mended without touching a known cell.

    Examples:

      genforge inpaint levels sketch.tmj --out outputs/filled

      genforge inpaint levels mario-1-1.txt --region 100:130 --out outputs/filled
    """
    from genforge.inpaint import inpaint_levels as run

    report_written(run(model, sketch, out, seed, condition, region), "a filled level")


@app.command("music")
def inpaint_music(
    tune: Path = typer.Argument(..., help="A MIDI file: its first window (the model's bars) is filled."),
    bars: str = typer.Option(..., "--bars", help="Bars to fill, from 1: 3-4, 2, or 1,3-4."),
    out: Path = typer.Option(Path("outputs/filled.mid"), "--out", help="The MIDI file to write (.png and .wav "
                             "beside it)."),
    voices: Optional[str] = typer.Option(None, "--voices", help="Voices to fill, from 1 (e.g. 1,2); default all."),
    model: Optional[Path] = typer.Option(None, help=MODEL_HELP),
    condition: Optional[str] = typer.Option(None, help="Label to fill as (default: the tune's mode)."),
    seed: int = typer.Option(0, help="Same seed, same fill."),
):
    """Fill chosen bars (of chosen voices) of a tune; the rest stays exactly as given.

    Examples:

      genforge inpaint music tune.mid --bars 3-4 --out outputs/filled.mid

      genforge inpaint music tune.mid --bars 2 --voices 4 --out outputs/bass.mid
    """
    from genforge.inpaint import inpaint_music as run

    report_written(run(model, tune, out, bars, voices, seed, condition), "a filled tune")
