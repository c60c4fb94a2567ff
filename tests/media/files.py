"""Real documents made in the tests: PDFs written by fpdf2, DOCX files by python-docx."""

from __future__ import annotations

import io

import docx
from fpdf import FPDF


def make_pdf(pages: list[str], *, user_password: str | None = None) -> bytes:
    pdf = FPDF()
    if user_password is not None:
        pdf.set_encryption(owner_password="owner-secret", user_password=user_password)
    pdf.set_font("Helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(w=0, text=text)
    return bytes(pdf.output())


def make_docx(
    title: str, sections: list[tuple[str, str]], table: list[list[str]] | None = None
) -> bytes:
    document = docx.Document()
    document.add_heading(title, level=0)
    for heading, body in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(body)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def broken_pdf() -> bytes:
    """A PDF header, then garbage: what a truncated or corrupted download looks like."""
    return b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R" + b"\x00\xff" * 200


def make_xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def make_wav(seconds: float = 0.5, rate: int = 22050) -> bytes:
    """A mono 16-bit WAV of a 440 Hz tone, written by the stdlib ``wave`` module."""
    import math
    import struct
    import wave

    frames = int(seconds * rate)
    samples = (int(8000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(frames))
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"".join(struct.pack("<h", s) for s in samples))
    return buffer.getvalue()


def make_mp3(seconds: float = 0.5) -> bytes:
    """The same tone as MP3 (LAME inside PyAV's FFmpeg), as a vendor's default speech."""
    import av

    out = io.BytesIO()
    with av.open(io.BytesIO(make_wav(seconds)), "r") as source, av.open(out, "w", "mp3") as mp3:
        stream = mp3.add_stream("libmp3lame", rate=22050, layout="mono")
        for frame in source.decode(audio=0):
            frame.pts = None
            mp3.mux(stream.encode(frame))
        mp3.mux(stream.encode(None))
    return out.getvalue()


def make_ogg_opus(seconds: float = 1.0) -> bytes:
    """A mono OGG/Opus recording of ``seconds`` (Telegram's voice note format). One second
    is encoded, then its packets are repeated with later timestamps (remuxed, not encoded
    again), so even an hour-long note is made in a moment."""
    import av

    from llmdoor.media.audio_format import to_ogg_opus

    one = to_ogg_opus(make_wav(1.0, rate=8000))
    assert one is not None
    with av.open(io.BytesIO(one), "r") as source:
        stream = source.streams.audio[0]
        packets = [(p.pts, p.duration, bytes(p)) for p in source.demux(stream) if p.size]
        rate = stream.codec_context.sample_rate or 48000
    step = sum(d or 0 for _, d, _ in packets) or rate
    out = io.BytesIO()
    with av.open(io.BytesIO(one), "r") as source, av.open(out, "w", "ogg") as target:
        template = source.streams.audio[0]
        stream = target.add_stream_from_template(template)
        offset = 0
        while offset < seconds * rate:
            for pts, duration, payload in packets:
                if offset + (pts or 0) >= seconds * rate:
                    break
                packet = av.Packet(payload)
                packet.stream = stream
                packet.pts = packet.dts = offset + (pts or 0)
                packet.duration = duration
                packet.time_base = template.time_base
                target.mux(packet)
            offset += step
    return out.getvalue()
