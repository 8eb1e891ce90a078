"""Be present in a running space, for the live tests of space_presence().

    python collab-present.py BASE_URL PATH TYPE FORMAT READY_FILE STOP_FILE TOKEN...

Opens the document PATH of the space at BASE_URL (``<domain>spaces/<name>/``)
through the collaboration websocket, once per TOKEN (each one a user, as a
JupyterLab tab would), writes READY_FILE, and stays until STOP_FILE exists
(at most 180 seconds). Uses the project's test client,
tests.collab.client.CollabClient, from the checkout at $JUPYTER_SPACES_CHECKOUT
(set by check.sh: R CMD check runs this file from a copy of the package).
"""

import asyncio
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.environ.get("JUPYTER_SPACES_CHECKOUT") or str(Path(__file__).resolve().parents[3]))
from tests.collab.client import CollabClient  # noqa: E402


async def main(base, path, kind, fmt, ready, stop, tokens):
    clients = []
    try:
        for token in tokens:
            clients.append(await CollabClient(base, path, type=kind, format=fmt, token=token).open())
        with open(ready, "w") as f:
            f.write("ready\n")
        deadline = time.monotonic() + 180
        while not os.path.exists(stop) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        for c in clients:
            await c.disconnect()


if __name__ == "__main__":
    base, path, kind, fmt, ready, stop, *tokens = sys.argv[1:]
    asyncio.run(main(base, path, kind, fmt, ready, stop, tokens))
