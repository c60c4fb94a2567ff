"""How long a recording really is, measured here before any vendor call.

A client declares a duration (Telegram's ``duration`` field) and a container may claim
one too; both are only claims. The recording is demuxed with PyAV (no decoding: fast, and
bounded by the file's size) and its length taken as the largest of what the container
says, where its last packet ends, and the sum of its packets' durations. Bytes PyAV cannot
open as audio are refused here, so they never reach a vendor or a budget.

Demuxing runs in this module's own threads, not asyncio's default executor."""

from __future__ import annotations

import asyncio
import io
import logging
from concurrent.futures import ThreadPoolExecutor

from llmdoor.errors import AudioUnreadable

log = logging.getLogger("llmdoor.media")

PROBE_TIMEOUT = 20.0  # seconds; a 20 MB file demuxes in well under one
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="llmdoor-audio-probe")


def measure(data: bytes, stop_after: float | None = None) -> float | None:
    """Seconds of audio in ``data``; AudioUnreadable when it is not audio PyAV can read;
    None when PyAV is not installed (the media extra), so nothing can be measured. With
    ``stop_after``, demuxing stops once the recording is known to be longer than that
    (the answer is then some length over it): a cap needs no more."""
    try:
        import av
    except ImportError:
        log.warning("transcription: PyAV is not installed; audio lengths are not measured")
        return None
    try:
        with av.open(io.BytesIO(data), "r") as container:
            streams = container.streams.audio
            if not streams:
                raise AudioUnreadable("The file has no audio.")
            stream = streams[0]
            claimed = container.duration / av.time_base if container.duration else 0.0
            if stream.time_base is None:
                raise AudioUnreadable("The audio has no time base.")
            base = float(stream.time_base)
            limit = None if stop_after is None else max(stop_after, claimed) / base
            # Ticks of the stream's time base, summed as integers: a note has ~50 packets
            # a second, and this loop is the cost of measuring.
            first: int | None = None
            end = 0
            total = 0
            for packet in container.demux(stream):
                duration = packet.duration or 0
                total += duration
                pts = packet.pts
                if pts is not None:
                    if first is None or pts < first:
                        first = pts
                    if pts + duration > end:
                        end = pts + duration
                if limit is not None and max(total, end - (first or 0)) > limit:
                    break
    except (av.FFmpegError, ValueError, IndexError, OSError, EOFError) as exc:
        raise AudioUnreadable(f"The file is not audio ({type(exc).__name__}).") from None
    seconds = max(claimed, (end - (first or 0)) * base, total * base)
    if seconds <= 0:
        raise AudioUnreadable("The file holds no audio.")
    return seconds


async def ameasure(data: bytes, stop_after: float | None = None) -> float | None:
    """``measure`` off the event loop, in this module's threads."""
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(
            loop.run_in_executor(_pool, measure, data, stop_after), timeout=PROBE_TIMEOUT
        )
    except TimeoutError:
        raise AudioUnreadable("Measuring the recording took too long.") from None
