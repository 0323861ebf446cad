"""Imported first in the forkserver that starts the reader processes (pipelines/reader_pool.py),
before pipelines.reader_process: a reader needs nothing of NumPy, which pyarrow would otherwise
import (about 60 ms before every first read, and some 20 MB under the reader's memory ceiling).
pyarrow works without it (NumPy has been optional since pyarrow 16), and so does fastexcel.

Never imported by the processes that check and store: they use NumPy through pandas.
"""
import sys

sys.modules.setdefault("numpy", None)  # `import numpy` now raises ImportError in this process
