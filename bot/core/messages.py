"""Every sentence the bot says about itself, in Korean and English, kept in one place so that
Slack, Discord and the console say the same thing."""

from __future__ import annotations

from typing import Literal

from bot.core.errors import BotError

Language = Literal["ko", "en"]

_MESSAGES: dict[str, dict[str, str]] = {
    "internal": {
        "ko": "죄송합니다. 처리 중에 문제가 생겼습니다. 잠시 후 다시 시도해 주세요.",
        "en": "Sorry, something went wrong. Please try again in a moment.",
    },
    "config": {
        "ko": "봇 설정에 문제가 있습니다. 관리자에게 문의해 주세요.",
        "en": "The bot is misconfigured. Please contact its administrator.",
    },
    "llm_unavailable": {
        "ko": "지금은 언어 모델에 연결할 수 없습니다. 잠시 후 다시 시도해 주세요.",
        "en": "The language model is unreachable right now. Please try again shortly.",
    },
    "llm_busy": {
        "ko": "지금 요청이 많아 모델이 바쁩니다. 잠시 후 다시 시도해 주세요.",
        "en": "The model is busy right now. Please try again in a moment.",
    },
    "llm_timeout": {
        "ko": "응답 시간이 너무 오래 걸려 요청을 중단했습니다. 다시 시도해 주세요.",
        "en": "The answer took too long and was stopped. Please try again.",
    },
    "llm_model_error": {
        "ko": "모델이 이 요청을 처리하지 못했습니다. 질문을 바꿔 다시 시도해 주세요.",
        "en": "The model could not process this request. Please rephrase and try again.",
    },
    "llm_stream_cut": {
        "ko": "(답변이 중간에 끊겼습니다. 다시 시도해 주세요.)",
        "en": "(The answer was cut off. Please try again.)",
    },
    "llm_empty": {
        "ko": "(모델이 빈 답변을 보냈습니다. 다시 시도해 주세요.)",
        "en": "(The model returned an empty answer. Please try again.)",
    },
    "message_too_long": {
        "ko": "메시지가 너무 깁니다. 더 짧게 나누어 보내 주세요.",
        "en": "Your message is too long. Please send it in shorter parts.",
    },
    "rate_limited": {
        "ko": "요청이 너무 잦습니다. 잠시 후 다시 보내 주세요.",
        "en": "Too many requests. Please wait a moment before sending more.",
    },
    "file_unreadable": {
        "ko": "파일을 열 수 없습니다: {name}",
        "en": "Cannot open the file: {name}",
    },
    "doc_unsupported": {
        "ko": "지원하지 않는 파일 형식입니다. PDF, HWP, HWPX, Word, PowerPoint, Excel, 텍스트 파일을 보내 주세요.",
        "en": "This file type is not supported. Please send PDF, HWP, HWPX, Word, PowerPoint, Excel or text.",
    },
    "doc_encrypted": {
        "ko": "암호가 걸린 문서는 읽을 수 없습니다. 암호를 해제한 뒤 다시 보내 주세요.",
        "en": "This document is password-protected. Please remove the password and send it again.",
    },
    "doc_distribution": {
        "ko": "배포용 한글 문서는 내용이 암호화되어 있어 읽을 수 없습니다. 일반 문서로 저장해 다시 보내 주세요.",
        "en": "HWP distribution documents are encrypted and cannot be read. Please save it as a normal document.",
    },
    "doc_no_text": {
        "ko": "이 PDF에는 글자 정보가 없습니다(스캔한 이미지로 보입니다). 문자 인식(OCR)을 거친 파일을 보내 주세요.",
        "en": "This PDF has no text layer (it looks scanned). Please send a file that has been through OCR.",
    },
    "doc_empty": {
        "ko": "문서에 읽을 내용이 없습니다.",
        "en": "The document has no readable content.",
    },
    "doc_corrupt": {
        "ko": "파일이 손상되었거나 형식이 올바르지 않아 읽을 수 없습니다.",
        "en": "The file is damaged or not in a valid format.",
    },
    "doc_too_large": {
        "ko": "파일이 너무 큽니다. {limit_mb}MB 이하의 파일만 읽을 수 있습니다.",
        "en": "The file is too large. Files up to {limit_mb} MB can be read.",
    },
    "doc_too_many_pages": {
        "ko": "문서가 너무 깁니다. {limit}쪽 이하의 문서만 읽을 수 있습니다.",
        "en": "The document is too long. Documents up to {limit} pages can be read.",
    },
    "doc_timeout": {
        "ko": "문서를 읽는 데 시간이 너무 오래 걸려 중단했습니다.",
        "en": "Reading the document took too long and was stopped.",
    },
    "reset_done": {
        "ko": "대화 기록을 지웠습니다. 새로 시작해 주세요.",
        "en": "The conversation has been cleared. Let's start over.",
    },
    "no_memory": {
        "ko": "대화 기록 저장소(Redis)에 연결되지 않아 이번 대화는 기억하지 않습니다.",
        "en": "The memory store (Redis) is unreachable, so this conversation is not remembered.",
    },
}


def text(code: str, lang: Language = "ko", **params: object) -> str:
    """The message for `code` in `lang`; unknown codes fall back to the generic one."""
    entry = _MESSAGES.get(code, _MESSAGES["internal"])
    template = entry.get(lang, entry["ko"])
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def user_message(error: BaseException, lang: Language = "ko") -> str:
    """What to tell a user about `error`; never the exception's own text."""
    if isinstance(error, BotError):
        return text(error.code, lang, **error.params)
    return text("internal", lang)
