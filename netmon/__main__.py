"""`python -m netmon`: the CLI."""

from netmon.cli import main

main()
