"""``python -m pipelines <command>``: see pipelines/cli.py."""
import sys

from .cli import main

sys.exit(main())
