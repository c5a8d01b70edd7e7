"""`python -m tests.support.codec_switch worker`: the worker, with aiokafka's lz4 codec missing while the
file named by TW_TEST_LZ4_OFF_WHILE exists, as in an image built without the codec libraries.

Test-only: it swaps `aiokafka.codec.has_lz4`, which aiokafka's record readers (the compiled ones too) ask
before decompressing a batch, so decoding fails exactly as it did in issue 19, and works again once the
file is removed, without restarting the process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import aiokafka.codec

from streams.cli.main import main

_flag = Path(os.environ["TW_TEST_LZ4_OFF_WHILE"])
_has_lz4 = aiokafka.codec.has_lz4
aiokafka.codec.has_lz4 = lambda: _has_lz4() and not _flag.exists()

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
