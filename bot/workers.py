"""Endpoints for several Rasa server processes (SANIC_WORKERS > 1): they must share conversations
and their locks, so both live in Redis; the SQLite event broker is left out (it takes one writer).

    python -m bot.workers redis://127.0.0.1:6379/0 5055 > endpoints.yml
"""

import sys
from typing import List, Optional
from urllib.parse import urlparse


def shared_stores(redis_url: str) -> str:
    url = urlparse(redis_url)
    if url.scheme not in ("redis", "rediss") or not url.hostname:
        raise ValueError(f"not a redis:// URL: {redis_url!r}")
    db = (url.path or "/0").lstrip("/") or "0"
    store = f"  type: redis\n  url: {url.hostname}\n  port: {url.port or 6379}\n  db: {db}\n"
    if url.password:
        store += f"  password: {url.password}\n"
    return f"tracker_store:\n{store}lock_store:\n{store}"


def endpoints(redis_url: str, action_port: int) -> str:
    return f'action_endpoint:\n  url: "http://127.0.0.1:{action_port}/webhook"\n' + shared_stores(redis_url)


def main(argv: Optional[List[str]] = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2 or not args[1].isdigit():
        print("usage: python -m bot.workers REDIS_URL ACTION_PORT", file=sys.stderr)
        return 2
    try:
        print(endpoints(args[0], int(args[1])), end="")
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
