"""Free loopback ports for the processes that tests, stacks and benchmarks start."""

from __future__ import annotations

import contextlib
import socket


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_node_port(nodes: int) -> int:
    """A free loopback port for the first node of a Varnish edge run as `nodes` nodes, whose other nodes' ports
    (`RegionCatalogue.with_edge_nodes`: 100 apart) are free as well."""
    from edge_config.regions import NODE_PORT_STEP

    while True:
        port = free_port()
        others = [port + k * NODE_PORT_STEP for k in range(1, nodes)]
        if others and others[-1] > 65535:
            continue
        try:
            with contextlib.ExitStack() as held:
                for other in others:
                    held.enter_context(socket.create_server(("127.0.0.1", other)))
            return port
        except OSError:
            continue
