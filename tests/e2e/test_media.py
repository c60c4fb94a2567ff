"""Voice, files and pictures end to end: the real bot long-polls the Telegram emulator,
downloads what users send through getFile, and litellm reaches the fake OpenAI server's
/audio/transcriptions, /audio/speech and /images/generations over real HTTP."""

from __future__ import annotations

from app.services.media.limits import MediaLimits
from llmdoor import AccessSettings, MediaSettings
from llmdoor.media.audio_format import detect
from tests.e2e.conftest import (
    ADMIN_ID,
    FRIEND_ID,
    STRANGER_ID,
    Running,
    StartBot,
    eventually,
)
from tests.fakes.openai_media import FAKE_OGG, tiny_png
from tests.media.files import (
    broken_pdf,
    make_docx,
    make_mp3,
    make_ogg_opus,
    make_pdf,
    make_wav,
)
from tests.tg_emulator.server import TelegramEmulator

# A real recording (its length is measured before any vendor call), passed on byte for byte.
VOICE = make_ogg_opus(2.0)


def _paths(running: Running) -> list[str]:
    return [r.path.rsplit("/", 2)[-2] + "/" + r.path.rsplit("/", 1)[-1] for r in
            running.fake_llm.media_requests]  # fmt: skip


def _is_transcript(m) -> bool:  # type: ignore[no-untyped-def]
    return m.text.startswith("🎙") and "Hello from the voice note." in m.text


async def test_voice_note_is_transcribed_shown_quoted_and_answered(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send_voice(VOICE, duration=4)
    quote = await tg.wait_for_message(friend.id, _is_transcript)
    assert any(e["type"] == "blockquote" for e in quote.entities)
    answer = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("echo:"))
    assert answer.text == "echo: Hello from the voice note."
    # The audio went to the vendor whole, and the transcript went to the chat model.
    (transcription,) = fake.media_requests
    assert transcription.path.endswith("/audio/transcriptions")
    assert transcription.json["file_bytes"] == len(VOICE)
    assert transcription.json["model"] == "gpt-4o-mini-transcribe"
    assert fake.chat_requests[-1].messages[-1]["content"] == "Hello from the voice note."
    assert tg.calls("getFile")
    # The transcript is kept as the user's turn: a follow-up sees it.
    await friend.send("and again?")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: and again?")
    contents = [m["content"] for m in fake.chat_requests[-1].messages]
    assert "Hello from the voice note." in contents


async def test_audio_files_and_video_notes_are_transcribed(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    fake.media.transcript = "a song about spring"
    await friend.send_audio(make_mp3(1.0), duration=30, filename="spring.mp3")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: a song about spring")
    assert fake.media_requests[-1].json["file_name"] == "spring.mp3"
    fake.media.transcript = "a round video"
    await friend.send_video_note(VOICE, duration=5)
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: a round video")
    assert fake.media_requests[-1].json["file_name"] == "video_note.mp4"


async def test_oversized_voice_is_refused_before_any_vendor_call(start_bot: StartBot) -> None:
    limits = MediaLimits(max_audio_seconds=60, max_audio_bytes=4000)
    async with start_bot(media_limits=limits) as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send_voice(VOICE, duration=61)
        long = await tg.wait_for_message(friend.id, lambda m: "too long" in m.text)
        assert "60 seconds" in long.text
        await friend.send_voice(b"OggS" + b"\x00" * 5000, duration=2)
        large = await tg.wait_for_message(friend.id, lambda m: "too large" in m.text)
        assert "MB" in large.text
        await tg.wait_quiet()
        assert running.fake_llm.media_requests == []
        assert running.fake_llm.chat_requests == []
        assert tg.calls("getFile") == []  # not even downloaded


async def test_strangers_voice_note_is_refused_with_no_vendor_call(running: Running) -> None:
    tg = running.tg
    stranger = tg.user(STRANGER_ID, "Sam")
    await stranger.send_voice(VOICE, duration=3)
    refusal = await tg.wait_for_message(stranger.id)
    assert "🔑 Request access" in refusal.button_texts
    await tg.wait_quiet()
    assert running.fake_llm.media_requests == []
    assert running.fake_llm.chat_requests == []
    assert tg.calls("getFile") == []


async def test_pdf_is_read_and_asked_about_then_followed_up(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    pdf = make_pdf(["Quarterly report. Revenue grew by 17 percent.", "The launch code is 4242."])
    await friend.send_document(pdf, "report.pdf", "application/pdf", caption="What is the code?")
    await tg.wait_for_message(friend.id, lambda m: m.text.startswith("echo:"))
    sent = fake.chat_requests[-1].messages[-1]["content"]
    assert "## Page 1" in sent and "Revenue grew by 17 percent." in sent
    assert "## Page 2" in sent and "The launch code is 4242." in sent
    assert 'name="report.pdf"' in sent and sent.rstrip().endswith("What is the code?")
    # The document stays in the conversation for follow-ups.
    await friend.send("and the revenue?")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: and the revenue?")
    history = " ".join(str(m["content"]) for m in fake.chat_requests[-1].messages)
    assert "The launch code is 4242." in history

    async def both_kinds() -> bool:  # the answer's record follows it
        kinds = {k.kind for k in await running.storage.stats.per_kind()}
        return {"document", "chat"} <= kinds

    await eventually(both_kinds, "document and chat usage recorded")


async def test_docx_without_caption_is_summarized(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    data = make_docx(
        "Trip plan",
        [("Day one", "Walk to the old lighthouse."), ("Day two", "Ferry to the island.")],
        table=[["Item", "Cost"], ["Ferry", "12 EUR"]],
    )
    mime = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    await friend.send_document(data, "plan.docx", mime)
    await tg.wait_for_message(friend.id, lambda m: m.text.startswith("echo:"))
    sent = fake.chat_requests[-1].messages[-1]["content"]
    assert "# Trip plan" in sent and "## Day one" in sent
    assert "Walk to the old lighthouse." in sent and "Ferry to the island." in sent
    assert "| Ferry | 12 EUR |" in sent
    assert sent.rstrip().endswith("Summarize this document briefly.")


async def test_broken_encrypted_and_unsupported_files_get_clear_messages(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send_document(broken_pdf(), "broken.pdf", "application/pdf", caption="read")
    await tg.wait_for_message(friend.id, lambda m: "damaged" in m.text)
    locked = make_pdf(["top secret"], user_password="hunter2")
    await friend.send_document(locked, "locked.pdf", "application/pdf")
    await tg.wait_for_message(friend.id, lambda m: "password" in m.text)
    await friend.send_document(b"PK\x03\x04" + b"\x00" * 40, "archive.zip", "application/zip")
    await tg.wait_for_message(friend.id, lambda m: "can't read this kind of file" in m.text)
    await tg.wait_quiet()
    assert fake.chat_requests == []  # nothing unreadable reached the model
    # The bot is still fine.
    await friend.send("still there?")
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: still there?")


async def test_long_document_is_cut_to_the_context_with_a_note(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    text = "\n".join(f"Line {i}: " + "lorem ipsum dolor sit amet " * 8 for i in range(2000))
    await friend.send_document(text.encode(), "long.txt", "text/plain", caption="gist?")
    note = await tg.wait_for_message(friend.id, lambda m: m.text.startswith("✂️"))
    assert "fits the model's context" in note.text
    await tg.wait_for_message(friend.id, lambda m: m.text.startswith("echo:"))
    sent = fake.chat_requests[-1].messages[-1]["content"]
    assert "Line 0:" in sent and "Line 1999:" not in sent
    assert "cut to fit the context" in sent  # the model is told too


async def test_image_command_sends_the_picture_with_the_prompt(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    admin = tg.user(ADMIN_ID, "Ada")
    await admin.send("/image a red square on white")
    photo = await tg.wait_for_message(admin.id, lambda m: m.kind == "photo")
    assert photo.text == "a red square on white"
    sent = tg.calls("sendPhoto")[-1]
    assert sent.ok
    file_id = photo.media[-1]["file_id"]  # type: ignore[index]
    assert tg.file(file_id).data == tiny_png()
    (request,) = fake.media_requests
    assert request.path.endswith("/images/generations")
    assert request.json["prompt"] == "a red square on white"
    assert request.json["model"] == "gpt-image-2"
    await admin.send("/image")
    await tg.wait_for_message(admin.id, lambda m: "after the command" in m.text)


async def test_image_the_vendor_returns_as_a_url_is_sent_by_that_url(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.media.image_as_url = True  # DALL-E's default: a link, no bytes
    admin = tg.user(ADMIN_ID, "Ada")
    await admin.send("/image a blue circle")
    photo = await tg.wait_for_message(admin.id, lambda m: m.kind == "photo")
    # The bot hands Telegram the vendor's URL (it does not download it); the emulator
    # fetches it from the fake on 127.0.0.1 as Telegram would from the vendor.
    sent = tg.calls("sendPhoto")[-1]
    assert sent.ok and str(sent.params["photo"]).startswith("http://127.0.0.1:")
    assert str(sent.params["photo"]).endswith("/v1/fake-images/1.png")
    assert fake.media.image_fetches == 1
    assert tg.file(photo.media[-1]["file_id"]).data == tiny_png()  # type: ignore[index]
    assert photo.text == "a blue circle"


async def test_image_url_telegram_cannot_fetch_is_sent_as_a_link(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.media.image_as_url = True
    fake.media.image = b""  # the URL answers with nothing: Telegram refuses the photo
    admin = tg.user(ADMIN_ID, "Ada")
    await admin.send("/image a blue circle")
    link = await tg.wait_for_message(admin.id, lambda m: "/v1/fake-images/1.png" in m.text)
    assert link.text.startswith("http://127.0.0.1:")
    assert not tg.calls("sendPhoto")[-1].ok


async def test_image_follows_budgets_and_friends_only_get_priced_models(
    start_bot: StartBot,
) -> None:
    access = AccessSettings(
        admins=str(ADMIN_ID), friends=str(FRIEND_ID), default_daily_budget_usd=0.001
    )
    async with start_bot(access=access) as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send("/image a castle")
        await tg.wait_for_message(friend.id, lambda m: "budget" in m.text)
        assert running.fake_llm.media_requests == []  # refused before the vendor
    media = MediaSettings(image_model="openai/house-painter")  # litellm knows no price
    async with start_bot(media=media) as running:
        tg = running.tg
        friend, admin = tg.user(FRIEND_ID, "Fred"), tg.user(ADMIN_ID, "Ada")
        await friend.send("/help")
        help_ = await tg.wait_for_message(friend.id, lambda m: "/new" in m.text)
        assert "/image" not in help_.text
        await friend.send("/image a castle")
        await tg.wait_for_message(friend.id, lambda m: "isn't available" in m.text)
        assert running.fake_llm.media_requests == []
        await admin.send("/help")
        admin_help = await tg.wait_for_message(admin.id, lambda m: "/new" in m.text)
        assert "/image <prompt>" in admin_help.text
        await admin.send("/image a castle")
        await tg.wait_for_message(admin.id, lambda m: m.kind == "photo")


async def test_voice_on_answers_voice_notes_with_voice_too(running: Running) -> None:
    tg, fake = running.tg, running.fake_llm
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/voice")
    await tg.wait_for_message(friend.id, lambda m: "Spoken replies are off" in m.text)
    await friend.send("/voice on")
    await tg.wait_for_message(friend.id, lambda m: "Spoken replies on" in m.text)
    assert (await running.storage.users.get(FRIEND_ID)).prefs.voice_replies  # type: ignore[union-attr]
    await friend.send_voice(VOICE, duration=2)
    await tg.wait_for_message(friend.id, lambda m: m.text == "echo: Hello from the voice note.")
    voice = await tg.wait_for_message(friend.id, lambda m: m.kind == "voice")
    assert tg.file(voice.media["file_id"]).data == FAKE_OGG  # type: ignore[index]
    speech = fake.media_requests[-1]
    assert speech.path.endswith("/audio/speech")
    assert speech.json["input"] == "echo: Hello from the voice note."
    assert speech.json["response_format"] == "opus"
    # Text messages still get text only; /voice off stops the voice.
    await friend.send("/voice off")
    await tg.wait_for_message(friend.id, lambda m: "Spoken replies off" in m.text)
    await friend.send_voice(VOICE, duration=2)
    await tg.wait_quiet()
    assert len(tg.calls("sendVoice")) == 1


async def test_voice_reply_from_a_wav_vendor_arrives_as_an_ogg_opus_voice_note(
    running: Running,
) -> None:
    tg, fake = running.tg, running.fake_llm
    fake.media.speech, fake.media.speech_content_type = make_wav(), "audio/wav"
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/voice on")
    await tg.wait_for_message(friend.id, lambda m: "Spoken replies on" in m.text)
    await friend.send_voice(VOICE, duration=2)
    voice = await tg.wait_for_message(friend.id, lambda m: m.kind == "voice")
    data = tg.file(voice.media["file_id"]).data  # type: ignore[index]
    assert detect(data) == "opus" and data.startswith(b"OggS")
    assert tg.calls("sendVoice") and not tg.calls("sendAudio")


async def test_voice_reply_that_cannot_be_converted_arrives_as_an_audio_file(
    running: Running, monkeypatch: object
) -> None:
    import pytest

    from llmdoor.media import audio_format

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.setattr(audio_format, "to_ogg_opus", lambda _data: None)  # no PyAV
    tg, fake = running.tg, running.fake_llm
    fake.media.speech, fake.media.speech_content_type = (mp3 := make_mp3()), "audio/mpeg"
    friend = tg.user(FRIEND_ID, "Fred")
    await friend.send("/voice on")
    await tg.wait_for_message(friend.id, lambda m: "Spoken replies on" in m.text)
    await friend.send_voice(VOICE, duration=2)
    audio = await tg.wait_for_message(friend.id, lambda m: m.kind == "audio")
    assert tg.file(audio.media["file_id"]).data == mp3  # type: ignore[index]
    assert audio.media["file_name"] == "answer.mp3"  # type: ignore[index]
    assert not tg.calls("sendVoice")


async def test_each_kind_is_counted_in_stats_csv_and_chart(running: Running) -> None:
    tg = running.tg
    admin = tg.user(ADMIN_ID, "Ada")
    await admin.send("/voice on")
    await tg.wait_for_message(admin.id, lambda m: "Spoken replies on" in m.text)
    await admin.send_voice(VOICE, duration=2)
    await tg.wait_for_message(admin.id, lambda m: m.kind == "voice")
    await admin.send_document(b"# Notes\n\nbuy milk", "notes.md", "text/markdown")
    await tg.wait_for_message(admin.id, lambda m: m.text.startswith("echo:"))
    await admin.send("/image a cat")
    await tg.wait_for_message(admin.id, lambda m: m.kind == "photo")

    async def all_recorded() -> bool:  # the answers' records follow them
        rows = {k.kind: k for k in await running.storage.stats.per_kind()}
        return len(rows) == 5 and rows["chat"].requests == 2

    await eventually(all_recorded, "every kind's usage recorded")
    rows = {k.kind: k for k in await running.storage.stats.per_kind()}
    assert set(rows) == {"chat", "transcription", "speech", "image", "document"}
    assert rows["chat"].requests == 2 and rows["image"].requests == 1
    assert rows["transcription"].cost_usd > 0 and rows["image"].cost_usd > 0

    await admin.send("/stats")
    panel = await tg.wait_for_message(admin.id, lambda m: "Usage statistics" in m.text)
    for label in ("Chat: 2 requests", "Transcription: 1", "Speech: 1", "Images: 1",
                  "Documents: 1"):  # fmt: skip
        assert label in panel.text, panel.text
    await admin.press(panel, "CSV export")
    csv_doc = await tg.wait_for_message(admin.id, lambda m: m.kind == "document")
    lines = tg.file(csv_doc.media["file_id"]).data.decode("utf-8-sig").splitlines()  # type: ignore[index]
    header = lines[0].split(",")
    kinds = sorted(line.split(",")[header.index("kind")] for line in lines[1:])
    assert kinds == ["chat", "chat", "document", "image", "speech", "transcription"]
    await admin.press(panel, "Chart")
    await tg.wait_for_message(admin.id, lambda m: m.kind == "photo" and "Daily usage" in m.text)


async def test_features_without_a_key_are_hidden_and_refused(
    start_bot: StartBot, tg: TelegramEmulator, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    media = MediaSettings(
        transcribe_model="openai/whisper-1", speech_model="tts", image_model="gpt-image"
    )
    async with start_bot(media=media) as running:
        from llmdoor import LLMSettings

        running.app.llm.pipeline.settings = LLMSettings(  # chat stays on the fake, media does not
            **{**running.app.settings.llm.model_dump(), "api_base": None}
        )
        admin = tg.user(ADMIN_ID, "Ada")
        await admin.send("/help")
        help_ = await tg.wait_for_message(admin.id, lambda m: "/new" in m.text)
        assert "/image" not in help_.text and "/voice" not in help_.text
        assert "voice message" not in help_.text
        await admin.send("/image a dog")
        await tg.wait_for_message(admin.id, lambda m: "isn't available" in m.text)
        await admin.send_voice(VOICE)
        await tg.wait_for_message(admin.id, lambda m: "aren't available" in m.text)
        await admin.send("/voice on")
        await tg.wait_for_message(admin.id, lambda m: "aren't available" in m.text)
        assert running.fake_llm.media_requests == []


async def test_voice_note_over_budget_is_refused_before_the_vendor(start_bot: StartBot) -> None:
    access = AccessSettings(
        admins=str(ADMIN_ID), friends=str(FRIEND_ID), default_daily_budget_usd=0.00001
    )
    async with start_bot(access=access) as running:
        tg = running.tg
        friend = tg.user(FRIEND_ID, "Fred")
        await friend.send_voice(VOICE, duration=30)  # ~$0.0015 at $0.00005 per second
        await tg.wait_for_message(friend.id, lambda m: "budget" in m.text)
        await tg.wait_quiet()
        assert running.fake_llm.media_requests == []
        assert running.fake_llm.chat_requests == []
