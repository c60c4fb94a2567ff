"""Reasoning written inline: some models (many local ones) put their thinking in the answer
text as ``<think>…</think>``. It is split off as it streams, tags cut across chunks
included, so it reaches the reasoning and never the answer (nor the history)."""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"


def _partial_tag(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` may begin ``tag`` (held back until the
    next piece says whether it is one)."""
    if "<" not in text[-(len(tag) - 1) :]:
        return 0  # nearly every chunk: no tag can start in its tail
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0


class ThinkSplitter:
    """Feed the content stream piece by piece; each call returns (answer, reasoning)."""

    def __init__(self) -> None:
        self._buffer = ""
        self._thinking = False
        # Whitespace around a block (before a first <think>, after </think>) is not the
        # answer's: it is held until text follows, and dropped when a block does.
        self._after_block = False
        self._held = ""
        self._started = False  # the answer has begun

    def feed(self, text: str) -> tuple[str, str]:
        if (
            self._started
            and not self._thinking
            and not self._after_block
            and not self._buffer
            and "<" not in text
        ):
            return text, ""  # plain answer text: nearly every chunk of nearly every answer
        self._buffer += text
        answer: list[str] = []
        reasoning: list[str] = []
        while True:
            tag = CLOSE if self._thinking else OPEN
            found = self._buffer.find(tag)
            if found >= 0:
                self._take(self._buffer[:found], answer, reasoning)
                self._buffer = self._buffer[found + len(tag) :]
                if not self._started:
                    self._held = ""
                self._thinking = not self._thinking
                self._after_block = not self._thinking
                continue
            keep = _partial_tag(self._buffer, tag)
            self._take(self._buffer[: len(self._buffer) - keep], answer, reasoning)
            self._buffer = self._buffer[len(self._buffer) - keep :]
            return "".join(answer), "".join(reasoning)

    def flush(self) -> tuple[str, str]:
        """The end of the stream: what was held back (a tag that never completed is text)."""
        answer: list[str] = []
        reasoning: list[str] = []
        self._take(self._buffer, answer, reasoning)
        self._buffer = ""
        if self._held and not self._after_block:
            answer.append(self._held)  # an answer of whitespace only stays what it was
        self._held = ""
        return "".join(answer), "".join(reasoning)

    def _take(self, text: str, answer: list[str], reasoning: list[str]) -> None:
        if self._thinking:
            reasoning.append(text)
            return
        if self._after_block:
            text = text.lstrip()
            if not text:
                return
            self._after_block = False
        if not self._started:
            if not text.strip():
                self._held += text
                return
            text, self._held, self._started = self._held + text, "", True
        answer.append(text)


def split_think(text: str) -> tuple[str, str]:
    """A whole answer as (answer, reasoning)."""
    splitter = ThinkSplitter()
    answer, reasoning = splitter.feed(text)
    more_answer, more_reasoning = splitter.flush()
    return answer + more_answer, reasoning + more_reasoning
