from genforge.cli import run

run()
