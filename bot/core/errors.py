"""Typed failures that reach users. Each carries a message code; adapters render it with
`bot.frontend.texts.user_message`, so a user never sees a traceback or an internal detail."""

from __future__ import annotations


class BotError(Exception):
    """A failure with a user-facing message. `params` fill the message template."""

    code = "internal"

    def __init__(self, detail: str = "", **params: object) -> None:
        super().__init__(detail or self.code)
        self.params = params


class ConfigError(BotError):
    code = "config"


class LLMError(BotError):
    code = "llm_unavailable"


class LLMBusy(LLMError):
    """Throttled (429 / ThrottlingException) even after retries."""

    code = "llm_busy"


class LLMTimeout(LLMError):
    code = "llm_timeout"


class LLMModelError(LLMError):
    """The model container itself failed (424 ModelError, 400 ValidationError): not retried."""

    code = "llm_model_error"


class LLMNoCredentials(LLMError):
    """botocore's credential chain found nothing: a set-up problem, not an outage."""

    code = "llm_no_credentials"


class LLMStreamCut(LLMError):
    """The stream died after some text had already been shown."""

    code = "llm_stream_cut"


class MessageTooLong(BotError):
    code = "message_too_long"


class PicturesNotSeen(BotError):
    """A picture was sent and the configured model reads text only."""

    code = "picture_not_seen"


class PictureTooLarge(BotError):
    code = "picture_too_large"


class FileUnreadable(BotError):
    code = "file_unreadable"


class RateLimited(BotError):
    code = "rate_limited"


class BudgetSpent(BotError):
    """A usage budget is spent until its reset (params: limit, and the reset's date, month, day
    and zone)."""


class UserBudgetSpent(BudgetSpent):
    code = "budget_user_day"


class TeamBudgetSpent(BudgetSpent):
    code = "budget_team_month"


class DocumentError(BotError):
    """Base of every document failure; `code` picks the message."""

    code = "doc_corrupt"


class UnsupportedDocument(DocumentError):
    code = "doc_unsupported"


class EncryptedDocument(DocumentError):
    code = "doc_encrypted"


class DistributionDocument(DocumentError):
    """HWP 배포용 (distribution) documents keep their text encrypted."""

    code = "doc_distribution"


class NoTextLayer(DocumentError):
    """A scanned PDF: pages are images, there is no text to read without OCR."""

    code = "doc_no_text"


class EmptyDocument(DocumentError):
    code = "doc_empty"


class CorruptDocument(DocumentError):
    code = "doc_corrupt"


class DocumentTooLarge(DocumentError):
    code = "doc_too_large"


class TooManyPages(DocumentError):
    code = "doc_too_many_pages"


class ExtractionTimeout(DocumentError):
    code = "doc_timeout"


class OldFormatDocument(UnsupportedDocument):
    """A format version too old to read (Word 6/95): the message names it and says what to do."""

    code = "doc_old_format"


class OcrUnavailable(DocumentError):
    """The text is only in pictures and this installation has no Tesseract to read them: not
    NoTextLayer, whose message asks the user for another file when the fix is on our side."""

    code = "doc_ocr_unavailable"


class NothingRecognized(NoTextLayer):
    """OCR ran over the pictures and found no text it could read."""

    code = "doc_nothing_recognized"


class TooManyScannedPages(TooManyPages):
    """More pages without text than OCR reads for one document."""

    code = "doc_too_many_scanned_pages"


class ImageTooLarge(DocumentTooLarge):
    code = "doc_image_too_large"


class AnswerStopped(BotError):
    """The user stopped the answer while it was being written."""

    code = "answer_stopped"


class NothingToRegenerate(BotError):
    """A regenerate with no answer in the conversation's memory to replace."""

    code = "nothing_to_regenerate"


class NotTheLastAnswer(BotError):
    """"다시 생성" on an answer that is not the conversation's last remembered one (a newer answer
    came since, or it was stopped or failed and never remembered)."""

    code = "not_the_last_answer"


class NothingToSummarize(BotError):
    """A thread or channel summary found no message in the asked range."""

    code = "nothing_to_summarize"
