"""`python -m nnctl.cli`: the same as the `nnctl` command."""

from . import main

main(prog_name="nnctl")
