"""Run a command that dies with the process that started it:

    python _support_die_with_parent.py /path/to/python _support_orders_api.py --db ...

On Linux it asks the kernel to SIGKILL it when its parent (the test process) dies
(``PR_SET_PDEATHSIG``, kept across ``exec``), then becomes the command: an API server a test
started never outlives a killed pytest. Elsewhere it only runs the command.
"""

from __future__ import annotations

import os
import signal
import sys

if __name__ == "__main__":
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    os.execv(sys.argv[1], sys.argv[1:])
