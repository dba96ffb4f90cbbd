"""What every command group shares: the --model help, the line that reports written files, and
the command line as a run bundle records it."""
from __future__ import annotations

import shlex
from pathlib import Path

import typer

ARGV = "genforge.argv"  # ctx.meta key: the command's words, as the top-level group received them
MODEL_HELP = "Run folder written by `genforge train`; the bundled default model if omitted."


def report_written(paths: list[Path], what: str) -> None:
    folders = sorted({str(p.parent) for p in paths})
    typer.echo(f"wrote {len(paths)} files ({what}) to {', '.join(folders)}")


def recorded_command(ctx: typer.Context) -> str:
    """The command line as given (the top-level group keeps its words in `ctx.meta`), absolute
    paths made relative to the current folder: a model card or bundle never records the paths of
    the machine that made it."""
    from genforge.bundle import relative_path

    def relative(word: str) -> str:
        name, eq, value = word.partition("=")
        if word.startswith("--") and eq and value.startswith("/"):
            return f"{name}={relative_path(value)}"
        return relative_path(word) if word.startswith("/") else word

    return "genforge " + shlex.join(relative(w) for w in ctx.meta.get(ARGV, []))


def print_description(path: Path) -> None:
    """`genforge info`'s account of a run folder (also printed when training ends)."""
    from genforge.bundle import META_FILE, describe, open_bundle
    from genforge.domains import codec_for
    from genforge.errors import GenforgeError, brief
    from genforge.trust import integrity_line

    bundle = open_bundle(path)
    try:
        lines = describe(bundle, codec_for(bundle.meta, bundle.path / META_FILE).describe(bundle.split))
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:  # a damaged or hand-edited file
        raise GenforgeError(f"{bundle.path / META_FILE}: malformed run metadata ({type(e).__name__}: "
                            f"{brief(e, 120)})") from None
    lines.insert(1, integrity_line(bundle.path, bundle.meta))
    for line in lines:
        typer.echo(line)
