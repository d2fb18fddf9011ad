"""A small reverse proxy with sticky sessions for running several Streamlit app processes behind one
address, for the load test (bench/load_test.py) and as a worked example of the deployment it proves.

Streamlit keeps a user's session (login, widget state) in the memory of the process that holds the
browser's websocket, so every request of one browser must reach the same process. This proxy pins a
browser to a backend with a cookie (`hub_node`): the first response of a connection without the cookie
sets it (round robin over the backends), later connections carry it and go to the same backend; a
websocket stays on the backend it was opened on. In production use nginx (`hash $cookie_hub_node` or
`ip_hash`) or a load balancer's cookie stickiness; this file is for measuring on one machine.

    python -m bench.sticky_proxy --listen 8600 --backend 127.0.0.1:8601 --backend 127.0.0.1:8602
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import re

COOKIE = "hub_node"
_COOKIE_RE = re.compile(rb"(?im)^cookie:.*?\b" + COOKIE.encode() + rb"=(\d+)")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - closing an already broken socket
            pass


class StickyProxy:
    """Forward each client connection to one backend, chosen by the `hub_node` cookie or round robin."""

    def __init__(self, backends: list[tuple[str, int]]):
        self.backends = backends
        self._next = itertools.cycle(range(len(backends)))
        self.connections = [0] * len(backends)

    def choose(self, head: bytes) -> tuple[int, bool]:
        m = _COOKIE_RE.search(head)
        if m and int(m.group(1)) < len(self.backends):
            return int(m.group(1)), False
        return next(self._next), True

    async def handle(self, c_reader: asyncio.StreamReader, c_writer: asyncio.StreamWriter) -> None:
        try:
            head = await c_reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            c_writer.close()
            return
        node, new = self.choose(head)
        self.connections[node] += 1
        host, port = self.backends[node]
        try:
            b_reader, b_writer = await asyncio.open_connection(host, port)
        except OSError:
            c_writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await c_writer.drain()
            c_writer.close()
            return
        b_writer.write(head)
        await b_writer.drain()
        if new:
            # Set the cookie on the first response head of this connection.
            try:
                resp_head = await b_reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                c_writer.close()
                b_writer.close()
                return
            cookie = f"Set-Cookie: {COOKIE}={node}; Path=/; HttpOnly; SameSite=Lax\r\n".encode()
            c_writer.write(resp_head[:-2] + cookie + b"\r\n")
            await c_writer.drain()
        await asyncio.gather(_pipe(c_reader, b_writer), _pipe(b_reader, c_writer))


async def serve(listen_port: int, backends: list[tuple[str, int]], host: str = "127.0.0.1") -> None:
    proxy = StickyProxy(backends)
    server = await asyncio.start_server(proxy.handle, host, listen_port)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", type=int, required=True, help="port to listen on (127.0.0.1)")
    p.add_argument("--backend", action="append", required=True, help="HOST:PORT of an app process (repeat)")
    args = p.parse_args(argv)
    backends = [(b.rsplit(":", 1)[0], int(b.rsplit(":", 1)[1])) for b in args.backend]
    asyncio.run(serve(args.listen, backends))


if __name__ == "__main__":
    main()
