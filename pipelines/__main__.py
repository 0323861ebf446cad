"""``python -m pipelines <command>``: see pipelines/cli.py."""
from .cli import exit_process, main

exit_process(main)
