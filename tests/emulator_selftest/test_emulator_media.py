"""The emulator's files: voice notes, audio files and video notes arrive as the Bot API
shapes them, the real aiogram Bot downloads them through getFile, files over the Bot API's
20 MB are refused, and sendVoice/sendPhoto/sendDocument uploads are kept."""

from __future__ import annotations

import io

from aiogram import Bot
from aiogram.types import BufferedInputFile

from tests.tg_emulator import TelegramEmulator


async def test_recordings_have_their_bot_api_shapes_and_download(
    emu: TelegramEmulator, bot: Bot
) -> None:
    ann = emu.user(1101, "Ann")
    voice = await ann.send_voice(b"OggS-voice", duration=7)
    audio = await ann.send_audio(b"ID3-song", duration=200, filename="song.mp3")
    note = await ann.send_video_note(b"mp4-note", duration=9)
    assert voice.to_api()["voice"]["duration"] == 7
    assert voice.to_api()["voice"]["mime_type"] == "audio/ogg"
    assert audio.to_api()["audio"]["file_name"] == "song.mp3"
    assert audio.to_api()["audio"]["duration"] == 200
    assert note.to_api()["video_note"]["length"] == 240
    for msg, data in ((voice, b"OggS-voice"), (audio, b"ID3-song"), (note, b"mp4-note")):
        media = msg.media
        assert isinstance(media, dict)
        buffer = io.BytesIO()
        await bot.download(media["file_id"], destination=buffer)
        assert buffer.getvalue() == data
    assert len(emu.calls("getFile")) == 3


async def test_get_file_refuses_files_over_20_mb(emu: TelegramEmulator) -> None:
    big = emu.user(1102, "Big")
    msg = await big.send_document(b"\x00" * (20 * 1024 * 1024 + 1), "huge.bin", "x/bin")
    assert isinstance(msg.media, dict)
    status, body = await emu.execute("getFile", {"file_id": msg.media["file_id"]})
    assert status == 400 and body["description"] == "Bad Request: file is too big"


async def test_bot_uploads_of_voice_and_photo_are_kept(emu: TelegramEmulator, bot: Bot) -> None:
    emu.user(1103, "Cy")
    sent = await bot.send_voice(1103, BufferedInputFile(b"OggS-reply", filename="a.ogg"))
    assert sent.voice is not None
    assert emu.file(sent.voice.file_id).data == b"OggS-reply"
    photo = await bot.send_photo(1103, BufferedInputFile(b"png", filename="p.png"), caption="c")
    assert photo.caption == "c" and emu.chat(1103).last_bot_message.kind == "photo"  # type: ignore[union-attr]
    assert [c.method for c in emu.calls()][-2:] == ["sendVoice", "sendPhoto"]
