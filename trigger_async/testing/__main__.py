"""``python -m trigger_async.testing serve [--host 127.0.0.1] [--port 8030]``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from ._emulator import Emulator


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trigger_async.testing",
        description="Local emulator of the Trigger.dev management API.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the emulator until interrupted")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8030, help="port to bind (default 8030)")
    serve.add_argument(
        "--rate-limit",
        action="store_true",
        help="enforce the real token bucket (750, +250 per 10 s) and answer 429s",
    )
    serve.add_argument(
        "--dedupe-request-idempotency",
        action="store_true",
        help="replay triggers that repeat an x-trigger-request-idempotency-key",
    )
    serve.add_argument(
        "--batch-idempotency-cached",
        action="store_true",
        help="answer a repeated batch idempotencyKey with the existing batch (isCached: true) instead of 422",
    )
    serve.add_argument(
        "--realtime-poll-timeout",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help="how long a live realtime shape request waits for a change (default 20)",
    )
    return parser


async def _serve(args: argparse.Namespace) -> None:
    async with Emulator(
        host=args.host,
        port=args.port,
        rate_limit=args.rate_limit,
        dedupe_request_idempotency=args.dedupe_request_idempotency,
        batch_idempotency_cached=args.batch_idempotency_cached,
        realtime_poll_timeout=args.realtime_poll_timeout,
    ) as emulator:
        print(f"Trigger.dev API emulator listening on {emulator.url}")
        print(f"  TRIGGER_API_URL={emulator.url}")
        print(f"  dev key:     {emulator.dev_key}")
        print(f"  staging key: {emulator.staging_key}")
        print(f"  prod key:    {emulator.prod_key}")
        print(f"  preview key: {emulator.preview_key}  (send x-trigger-branch)")
        print("Any key matching tr_(dev|stg|prod|preview)_<letters, digits, _> works too.")
        print("Press Ctrl-C to stop.", flush=True)
        await asyncio.Event().wait()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except KeyboardInterrupt:
        print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
