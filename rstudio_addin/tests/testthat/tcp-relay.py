"""A TCP relay for the R addin's live tests: 127.0.0.1:LISTEN -> 127.0.0.1:TARGET.

Killing it (SIGKILL) cuts every connection through it, as a network drop
does; started again on the same port, the network is back.

    python tcp-relay.py LISTEN TARGET READY_FILE
"""

import asyncio
import sys


async def pipe(reader, writer):
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main(listen: int, target: int, ready: str) -> None:
    async def relay(client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(pipe(client_reader, up_writer), pipe(up_reader, client_writer))

    server = await asyncio.start_server(relay, "127.0.0.1", listen, reuse_address=True)
    open(ready, "w").close()
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]))
