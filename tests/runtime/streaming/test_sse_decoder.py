"""`SseDecoder`: the same events however the bytes are cut, in every line-ending style."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from mmoc_runtime.providers.sse import SseDecoder, SseEvent

WIRE = (
    b": a comment the server sends as a keep-alive\n"
    b"event: message_start\n"
    b"data: {\"a\": 1}\n"
    b"\n"
    b"data: first line\n"
    b"data:second line\n"
    b"id: 7\n"
    b"\n"
    b"event: ping\n"
    b"\n"  # a named event without data dispatches nothing
    b"data: [DONE]\n"
    b"\n"
)
EXPECTED = [
    SseEvent("message_start", '{"a": 1}'),
    SseEvent("message", "first line\nsecond line"),
    SseEvent("message", "[DONE]"),
]


def decode(chunks: list[bytes]) -> list[SseEvent]:
    decoder = SseDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_whole_body() -> None:
    assert decode([WIRE]) == EXPECTED


def test_crlf_and_cr_line_endings() -> None:
    assert decode([WIRE.replace(b"\n", b"\r\n")]) == EXPECTED
    assert decode([WIRE.replace(b"\n", b"\r")]) == EXPECTED


def test_a_crlf_cut_between_its_cr_and_lf_is_one_line_end() -> None:
    wire = WIRE.replace(b"\n", b"\r\n")
    cut = wire.index(b"\r\n") + 1
    assert decode([wire[:cut], wire[cut:]]) == EXPECTED


@given(st.sampled_from([b"\n", b"\r\n", b"\r"]), st.lists(st.integers(0, len(WIRE) * 2)))
def test_any_cut_gives_the_same_events(newline: bytes, cuts: list[int]) -> None:
    wire = WIRE.replace(b"\n", newline)
    points = sorted({c % (len(wire) + 1) for c in cuts})
    chunks = [wire[a:b] for a, b in zip([0, *points], [*points, len(wire)], strict=True)]
    assert decode(chunks) == EXPECTED


def test_utf8_split_inside_a_character() -> None:
    wire = "data: héllo ✓\n\n".encode()
    cut = wire.index("✓".encode()) + 1
    assert decode([wire[:cut], wire[cut:]]) == [SseEvent("message", "héllo ✓")]
