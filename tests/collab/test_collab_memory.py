"""Memory a room holds: within 3x its notebook's JSON size (issue #4's bound).

Measured as the resident memory a fresh server process gains when the room opens (a
small room is opened first, so imports and first-use allocations are not counted), the
client still connected. Freed-but-kept memory counts too: that is what the machine
pays. Before the fast load this read 5.3x for a 20 MB notebook (the parsed notebook, a
cached encoding and heap fragmentation on top of the Y document's ~1.5x).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from tests.collab.client import CollabClient
from tests.collab.conftest import headers
from tests.collab.nbutil import make_notebook, read_notebook

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "bench" / "collab"))
from bench_collab import notebook  # noqa: E402  -- the benchmark's notebook shape

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.timeout(300)
async def test_room_memory_within_3x_the_notebook(server_factory):
    srv = server_factory(room_idle_timeout=600, file_poll_interval=0)
    (srv.root / "warmup.ipynb").write_text(json.dumps(make_notebook(3)))
    # 8 MB in 800 cells with outputs, as the benchmark's (its 20 MB one takes longer)
    big = srv.root / "big.ipynb"
    big.write_text(json.dumps(notebook(800, 8)))
    size = big.stat().st_size
    srv.start()
    assert srv.proc is not None
    warm = await CollabClient(srv.url, "warmup.ipynb", headers=headers()).open(timeout=60)
    await asyncio.sleep(1.0)
    before = rss(srv.proc.pid)
    c = await CollabClient(srv.url, "big.ipynb", headers=headers()).open(timeout=120)
    assert len(c.model._ycells) == 800
    await asyncio.sleep(1.5)  # the big reply flushed, its buffers given back
    added = rss(srv.proc.pid) - before
    print(f"room of a {size / 1e6:.1f} MB notebook: {added / 1e6:.1f} MB ({added / size:.2f}x)")
    assert added < 3 * size, f"the room holds {added / size:.2f}x its notebook's size"
    # and the document is the notebook's
    assert [x["id"] for x in c.content()["cells"]] == [x["id"] for x in read_notebook(big)["cells"]]
    for x in (warm, c):
        await x.disconnect()
