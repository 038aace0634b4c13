"""A reverse proxy that adds a fixed delay before forwarding: slow or hanging upstreams on demand.

python -m loadtests.delay_proxy --port 9101 --target http://127.0.0.1:8101 --delay 0.06
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import httpx
import uvicorn


class DelayProxy:
    def __init__(self, target: str, delay: float) -> None:
        self.target = target.rstrip("/")
        self.delay = delay
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.client = httpx.AsyncClient(limits=httpx.Limits(max_connections=200))
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    if self.client is not None:
                        await self.client.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] != "/healthz":  # health checks pass straight through, so start-up is not slowed
            await asyncio.sleep(self.delay)
        query = scope.get("query_string", b"").decode()
        url = f"{self.target}{scope['path']}" + (f"?{query}" if query else "")
        assert self.client is not None
        upstream = await self.client.request(scope["method"], url)
        headers = [(k.encode(), v.encode()) for k, v in upstream.headers.items() if k.lower() in {"content-type"}]
        await send({"type": "http.response.start", "status": upstream.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": upstream.content})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--delay", type=float, required=True, help="seconds added to every request")
    args = parser.parse_args()
    uvicorn.run(DelayProxy(args.target, args.delay), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
