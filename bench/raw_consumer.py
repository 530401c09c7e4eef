"""The consumer half of the raw baseline, run as its own process (``python -m bench.raw_consumer``).

Binds the durable pull consumer, prints ``READY``, then ``fetch``es in batches and acks each
message, recording ``time.perf_counter_ns()`` right after each ack (CLOCK_MONOTONIC, so
comparable with the parent's publish times). Writes the ack times, indexed by the message
number in the subject, as native ``int64``s to ``--out``, and prints ``CPU <seconds>`` it
spent after ``READY``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from array import array
from pathlib import Path

import nats.errors

from bench.stats import own_cpu_seconds
from bench.workload import RAW_STREAM, raw_index
from shared.bus import connection


async def consume(url: str, *, durable: str, count: int, batch: int) -> tuple[array[int], float]:
    """Ack times by message number, and CPU seconds spent after ``READY``."""
    # The services' connection settings, so the consumer side differs only in what it does.
    nc = await connection.connect(url, name="kurator-bench-raw-consumer")
    js = nc.jetstream()
    sub = await js.pull_subscribe_bind(
        durable=durable, stream=RAW_STREAM, pending_msgs_limit=-1, pending_bytes_limit=-1
    )
    acked = array("q", bytes(8 * count))
    print("READY", flush=True)
    cpu_at_start = own_cpu_seconds()
    seen = 0
    try:
        while seen < count:
            # Never ask for more than remain: the last fetch must not wait for messages that
            # will never come (nats-py's fetch lingers until the batch is full or it expires).
            try:
                msgs = await sub.fetch(min(batch, count - seen), timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            for msg in msgs:
                await msg.ack()
                acked[raw_index(msg.subject)] = time.perf_counter_ns()
            seen += len(msgs)
    finally:
        await nc.drain()
    return acked, own_cpu_seconds() - cpu_at_start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--durable", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    acked, cpu = asyncio.run(consume(args.url, durable=args.durable, count=args.count, batch=args.batch))
    Path(args.out).write_bytes(acked.tobytes())
    print(f"CPU {cpu:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
