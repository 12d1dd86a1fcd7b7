#!/usr/bin/env python3
"""Python peer for the Swift relay benchmark (scenario 3, one follower).

Measures how fast the PyPI package `resumable-stream` (the Python port of Vercel's
TypeScript resumable-stream) relays a stream through Redis to one follower:

    python relay.py --redis-url redis://127.0.0.1:6379 --chunks 200000 --length 20

As in the Swift bench, the producer is created with the idempotent `resumable_stream`
call, the follower attaches with `resume_existing_stream` while the source is held on a
gate, and the clock runs from opening the gate to the follower's last chunk.
Prints one JSON line on stdout; everything else goes to stderr.
"""
import argparse
import asyncio
import json
import logging
import sys
import time
import uuid


def fail(message):
    print(f"relay.py: {message}", file=sys.stderr)
    sys.exit(2)


try:
    import importlib.metadata
    from resumable_stream import RedisPublisher, RedisSubscriber, create_resumable_stream_context
    PACKAGE = f"resumable-stream=={importlib.metadata.version('resumable-stream')}"
except ImportError as error:
    fail(f"cannot import resumable_stream ({error}); "
         "run Benchmarks/Peer/setup.sh and use the python of the venv it made")


class WatchedSubscriber(RedisSubscriber):
    """The package's RedisSubscriber, plus an event set once the producer has handled a
    resume request. `resume_existing_stream` returns as soon as it has *published* its
    request, so without this the gate could open before the producer knows its follower."""

    def __init__(self, url):
        super().__init__(url)
        self.follower_attached = asyncio.Event()

    async def subscribe(self, channel, callback):
        if ":request:" in channel:  # the producer's channel for resume requests
            handle = callback

            async def callback(message):
                await handle(message)
                self.follower_attached.set()
        await super().subscribe(channel, callback)


def chunk_text(index, length):
    # Every chunk differs (the index, padded with "x"), so drops, duplicates and
    # reordering all show in the comparison. For length 1 it is index % 10, as in Swift.
    return str(index).rjust(length, "x")[-length:]


async def read_all(stream, stamps=None):
    """Read a stream to its end; if `stamps` is given, record the time of the last chunk."""
    parts = []
    async for chunk in stream:
        parts.append(chunk)
        if stamps is not None:
            stamps["last"] = time.perf_counter()
    return "".join(parts)


async def run(redis_url, count, length):
    chunks = [chunk_text(i, length) for i in range(count)]  # made before the clock starts
    expected = "".join(chunks)

    # Connect the package's own Redis adapters ourselves and hand them to the context:
    # in 0.2.0 create_resumable_stream_context(redis_url=...) raises TypeError (the options
    # dataclass has no redis_url field), and would only start connect() in the background.
    publisher, subscriber = RedisPublisher(redis_url), WatchedSubscriber(redis_url)
    try:
        await asyncio.wait_for(asyncio.gather(publisher.connect(), subscriber.connect()), 5)
    except Exception as error:
        fail(f"Redis is unreachable at {redis_url}: {type(error).__name__}: {error}")
    context = create_resumable_stream_context(publisher=publisher, subscriber=subscriber)

    gate = asyncio.Event()

    async def source():
        await gate.wait()  # hold the source until the follower is attached
        for chunk in chunks:
            yield chunk

    stream_id = f"relay-{uuid.uuid4()}"
    own = await context.resumable_stream(stream_id, source)        # INCR == 1: the producer
    follower = await context.resume_existing_stream(stream_id)     # subscribes + asks to resume
    if own is None or follower is None or follower == "NOT_FOUND":
        fail(f"unexpected result creating/resuming the stream: {own!r}, {follower!r}")
    await asyncio.wait_for(subscriber.follower_attached.wait(), 10)

    stamps = {}
    started = time.perf_counter()
    gate.set()
    own_text, followed_text = await asyncio.gather(read_all(own), read_all(follower, stamps))
    seconds = stamps.get("last", time.perf_counter()) - started

    correct = followed_text == expected and own_text == expected
    if not correct:
        print(f"relay.py: MISMATCH: follower got {len(followed_text)} chars, producer "
              f"{len(own_text)}, expected {len(expected)}", file=sys.stderr)

    await subscriber.close()
    await publisher.close()
    return {"chunks": count, "seconds": seconds, "chunks_per_second": count / seconds,
            "correct": correct, "package": PACKAGE}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--chunks", type=int, required=True)
    parser.add_argument("--length", type=int, default=20)
    args = parser.parse_args()
    if args.chunks < 1 or args.length < 1:
        fail("--chunks and --length must be at least 1")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)  # the package's errors
    print(json.dumps(asyncio.run(run(args.redis_url, args.chunks, args.length))))


if __name__ == "__main__":
    main()
