"""The `genforge` command: one Typer sub-app per command group, each command parsing its options,
calling one library function and printing what it wrote.

    train.py     train levels | music
    sample.py    sample levels | music, interpolate levels | music
    evaluate.py  evaluate levels | music
    inpaint.py   inpaint levels | music
    score.py     score levels | music
    tools.py     check, info, export, datasets build
    serve.py     serve (the latent explorer in the browser)

Training imports TensorFlow inside its command only: sample, interpolate and info never do.
"""
from __future__ import annotations

import os
import sys

import typer
import typer.core

from genforge.cli import evaluate, inpaint, sample, score, serve, tools, train
from genforge.cli.common import ARGV
from genforge.errors import GenforgeError

class CommandGroup(typer.core.TyperGroup):
    """The top-level command group: an error the user caused (GenforgeError, or a path that cannot
    be read or written) ends the command as one `genforge: error:` line and exit status 2, however
    the app is invoked (the console script, `python -m genforge`, Typer's CliRunner)."""

    def make_context(self, info_name, args, parent=None, **extra):
        argv = list(args)  # the words as given, which a run bundle records as its command
        ctx = super().make_context(info_name, args, parent, **extra)
        ctx.meta[ARGV] = argv
        return ctx

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GenforgeError as e:
            typer.echo(f"genforge: error: {e}", err=True)
        except OSError as e:
            typer.echo(f"genforge: error: {e.filename or ''}: {e.strerror or e}", err=True)
        raise typer.Exit(2)


app = typer.Typer(help="Train convolutional VAEs on game levels and music, and generate new ones.", cls=CommandGroup,
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
app.add_typer(train.app, name="train")
app.add_typer(sample.sample_app, name="sample")
app.add_typer(sample.interpolate_app, name="interpolate")
app.add_typer(tools.datasets_app, name="datasets")
app.add_typer(evaluate.app, name="evaluate")
app.add_typer(inpaint.app, name="inpaint")
app.add_typer(score.app, name="score")
app.command("check")(tools.check_levels)
app.command()(tools.info)
app.command("export")(tools.export_decoder)
app.command("serve")(serve.serve)


def run() -> None:
    """The `genforge` command: main(), then out of the process without tearing the interpreter
    down. Every output is complete by then (written atomically, threads joined); the teardown
    only frees numpy's and onnxruntime's modules: 70-100 ms of a 0.5 s sampling run."""
    try:
        main()
        code = 0
    except SystemExit as e:
        code = e.code
    if not isinstance(code, int):  # SystemExit("message") or SystemExit(None)
        if code is not None:
            print(code, file=sys.stderr)
        code = 0 if code is None else 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a reader that went away (`| head`), or a closed stream
            pass
    os._exit(code)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("genforge: interrupted", err=True)
        raise SystemExit(130) from None
