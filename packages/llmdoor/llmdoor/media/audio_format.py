"""What audio bytes really are (by their magic bytes), and turning them into OGG/Opus.

Vendors do not always honour ``response_format``: with ``drop_params`` a speech API that
knows no "opus" answers in its default (MP3, WAV, ...). Telegram plays only OGG/Opus as a
voice note, so :func:`to_ogg_opus` re-encodes other audio offline with PyAV (FFmpeg ships
inside its wheels). PyAV is imported lazily: ``import llmdoor`` stays light.
"""

from __future__ import annotations

import io
import logging

log = logging.getLogger("llmdoor")

# Formats by name, as ``SpeechAudio.format`` reports them; "opus" means OGG/Opus.
MIME_TYPES = {
    "opus": "audio/ogg",
    "ogg": "audio/ogg",  # OGG with another codec (Vorbis): not a Telegram voice note
    "mp3": "audio/mpeg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "m4a": "audio/mp4",
    "webm": "audio/webm",
}
EXTENSIONS = {"opus": "ogg", "aac": "aac", "m4a": "m4a", "webm": "webm"}

_OGG_PAGE_HEADER = 27  # bytes before the segment table of an OGG page


def detect(data: bytes) -> str | None:
    """ "opus", "ogg", "mp3", "wav", "flac", "aac", "m4a" or "webm"; None when unknown
    (raw PCM, say)."""
    if data.startswith(b"OggS"):
        # The first page holds only the codec's identification header, after the page
        # header and its segment table (at most 255 bytes).
        first_page = data[_OGG_PAGE_HEADER - 1 : _OGG_PAGE_HEADER + 255 + 8]
        return "opus" if b"OpusHead" in first_page else "ogg"
    if data.startswith(b"ID3"):
        return "mp3"
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data.startswith(b"fLaC"):
        return "flac"
    if data[4:8] == b"ftyp":
        return "m4a"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if len(data) >= 2 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0:
        # A frame sync: layer bits 00 is AAC in ADTS, anything else an MPEG audio frame.
        return "aac" if data[1] & 0x06 == 0 else "mp3"
    return None


def to_ogg_opus(data: bytes) -> bytes | None:
    """The audio re-encoded as mono OGG/Opus at 48 kHz (what Telegram's own voice notes
    are), or None when PyAV is missing or cannot decode it."""
    try:
        import av
    except ImportError:
        log.warning("speech: PyAV is not installed; audio cannot be converted to OGG/Opus")
        return None
    out = io.BytesIO()
    try:
        with av.open(io.BytesIO(data), "r") as source, av.open(out, "w", "ogg") as target:
            stream = target.add_stream("libopus", rate=48000, layout="mono")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=48000)
            for frame in source.decode(audio=0):
                for piece in resampler.resample(frame):
                    target.mux(stream.encode(piece))
            for piece in resampler.resample(None):
                target.mux(stream.encode(piece))
            target.mux(stream.encode(None))
    except (av.FFmpegError, ValueError, IndexError) as exc:
        log.warning("speech: converting audio to OGG/Opus failed: %s", type(exc).__name__)
        return None
    converted = out.getvalue()
    return converted if detect(converted) == "opus" else None
