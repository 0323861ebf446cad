"""The commands of ``python -m pipelines`` (registered in pipelines/cli.py ``COMMANDS``).

Each module: ``DESCRIPTION``, ``EXAMPLES``, ``arguments(ap)``, ``run(args, ap) -> int``.
Nothing heavy is imported at module level (``--help`` must be quick): the
library is imported inside ``run``.
"""
