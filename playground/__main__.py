import sys

from playground.interpreter import collector_paused

with collector_paused():  # start-up only: see collector_paused
    from playground.cli import main

sys.exit(main(prog="python -m playground"))
