"""Pictures dropped in Slack or Discord: a model that sees pictures gets the picture with the
user's text, on every provider that can carry one; a text-only model gets the text OCR reads in
the picture, and for a picture without any its users are told clearly that it cannot see
pictures, the model not asked."""

from __future__ import annotations

import base64
import struct
import zlib

import pytest

from bot.core.conversation import ConversationKey
from bot.core.errors import PicturesNotSeen, PictureTooLarge
from bot.core.pictures import MAX_PICTURE_BYTES, as_picture, picture_type
from fakes.bedrock import LLAMA_VISION, FakeBedrock
from fakes.discord import FakeDiscord
from fakes.openai_compatible import VISION_MODEL, FakeOpenAI
from fakes.sagemaker import FakeSageMaker, Reply
from fakes.slack import FakeSlack
from tests.corpus_files import corpus_file
from tests.discord_support import StartDiscordBot
from tests.provider_support import model_requests, turns_received
from tests.slack_support import StartSlackBot
from tests.support import KOREAN, make_engine



def blank_png(width: int = 64, height: int = 32) -> bytes:
    """A real, white PNG: whatever reads pictures (an OCR reader too) can open it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xff" * 3 * width for _ in range(height))
    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


PNG = blank_png()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(40)
GIF = b"GIF89a" + bytes(40)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(40)
KEY = ConversationKey("test", ("C1", "1"))


@pytest.mark.parametrize(("data", "kind"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")])
def test_pictures_are_known_by_their_bytes(data: bytes, kind: str) -> None:
    assert picture_type(data) == kind
    assert picture_type(b"%PDF-1.7" + data) is None


def test_a_picture_over_what_providers_take_is_refused_with_the_limit() -> None:
    with pytest.raises(PictureTooLarge) as refused:
        as_picture(PNG + bytes(MAX_PICTURE_BYTES))
    assert "3.75MB" in KOREAN.for_error(refused.value)


async def test_a_picture_in_slack_reaches_a_bedrock_vision_model_with_the_question(
    slack_bot: StartSlackBot, fake_slack: FakeSlack
) -> None:
    async with FakeBedrock() as bedrock:
        bedrock.script("영수증의 합계는 12,000원입니다.", "커피 두 잔입니다.")
        picture = fake_slack.add_file(PNG, "영수증.png", "image/png", "png")
        async with slack_bot(model=bedrock, bedrock_model_id=LLAMA_VISION, llm_accepts_images=True) as bot:
            mention = fake_slack.mention("합계가 얼마예요?", files=[picture])
            root = mention["event"]["ts"]
            await bot.send(mention)
            assert await bot.answered("C0001", root, timeout=20) == ["영수증의 합계는 12,000원입니다."]
            await bot.send(fake_slack.thread_message("무엇을 샀죠?", root))
            await bot.answered("C0001", root, count=2)

    image, text = bedrock.requests[0].json["messages"][-1]["content"]
    assert base64.b64decode(image["image"]["source"]["bytes"]) == PNG and image["image"]["format"] == "png"
    assert text == {"text": "[사진 첨부: 영수증.png] 합계가 얼마예요?"}
    # the follow-up remembers the exchange as text; the picture itself is not sent again
    assert turns_received(bedrock, 1)[-3:] == [
        ("user", "[사진 첨부: 영수증.png] 합계가 얼마예요?"),
        ("assistant", "영수증의 합계는 12,000원입니다."),
        ("user", "무엇을 샀죠?"),
    ]


async def test_a_picture_on_discord_to_a_text_only_model_is_answered_that_it_cannot_see_it(
    discord_bot: StartDiscordBot,
) -> None:
    async with FakeOpenAI() as server, discord_bot(model=server) as h:
        fake: FakeDiscord = h.fake
        file = fake.add_attachment(PNG, "사진.png", "image/png")
        question = await h.message(f"<@{fake.bot_id}> 이게 뭐예요?", author_id=42, attachments=[file])
        answer = await h.reply_to(question, timeout=20)
    assert answer["content"] == KOREAN.for_error(PicturesNotSeen())
    assert model_requests(server) == 0


# A SageMaker `inputs` endpoint carries text only: its Messages API is tested below.
@pytest.mark.parametrize("model_server", ["bedrock", "openai"], indirect=True)
async def test_a_picture_with_no_question_is_described(model_server, redis_url: str, redis_prefix: str) -> None:
    model = {"bedrock_model_id": LLAMA_VISION} if isinstance(model_server, FakeBedrock) else {"openai_model": VISION_MODEL}
    engine = make_engine(model_server, redis_url, redis_prefix, llm_accepts_images=True, **model)
    try:
        answer = await engine.summarize_document(KEY, WEBP, "고양이.webp")
    finally:
        await engine.aclose()
    assert answer == "안녕하세요"
    assert turns_received(model_server)[-1][1][-1] in (
        {"text": "[사진 첨부: 고양이.webp] 이 사진에 무엇이 있는지 설명해 주세요."},
        {"type": "text", "text": "[사진 첨부: 고양이.webp] 이 사진에 무엇이 있는지 설명해 주세요."},
    )


async def test_a_picture_reaches_a_sagemaker_messages_api_endpoint_as_openai_content(
    sagemaker: FakeSageMaker, redis_url: str, redis_prefix: str
) -> None:
    sagemaker.default = Reply("상승 추세입니다.", schema="messages")
    engine = make_engine(sagemaker, redis_url, redis_prefix, sagemaker_payload_schema="messages", llm_accepts_images=True)
    try:
        assert await engine.summarize_document(KEY, GIF, "도표.gif", question="추세를 알려 주세요") == "상승 추세입니다."
    finally:
        await engine.aclose()
    content = sagemaker.requests[-1].json["messages"][-1]["content"]
    assert content == [
        {"type": "image_url", "image_url": {"url": "data:image/gif;base64," + base64.b64encode(GIF).decode()}},
        {"type": "text", "text": "[사진 첨부: 도표.gif] 추세를 알려 주세요"},
    ]


async def test_a_text_only_model_gets_the_text_read_from_a_picture(redis_url: str, redis_prefix: str) -> None:
    """OCR (Tesseract, in the extraction process) reads the picture; the model gets its text."""
    page = corpus_file("image/nuri_press_page1.jpg").read_bytes()
    async with FakeOpenAI() as server:
        server.script("공모전에는 1만 건 이상이 응모했습니다.")
        engine = make_engine(server, redis_url, redis_prefix)
        try:
            answer = await engine.summarize_document(KEY, page, "보도자료.jpg", question="공모전에 몇 건이 응모했나요?")
        finally:
            await engine.aclose()
    assert answer == "공모전에는 1만 건 이상이 응모했습니다."
    [request] = server.completions()
    sent = " ".join(message["content"] for message in request["messages"])  # text only: no picture part
    assert "1만건 이상 응모" in sent.replace("1만 건", "1만건") and "공모전에 몇 건이 응모했나요?" in sent
