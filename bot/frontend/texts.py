"""Every sentence the bot says about itself, in Korean and English, kept in one place so that
Slack, Discord and the terminal say the same thing."""

from __future__ import annotations

from dataclasses import dataclass
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
    "llm_no_credentials": {
        "ko": "AWS 자격 증명이 없어 언어 모델을 부를 수 없습니다. 관리자가 .env에 AWS_ACCESS_KEY_ID와 "
        "AWS_SECRET_ACCESS_KEY(또는 AWS_PROFILE)를 넣거나 IAM 역할을 주어야 합니다.",
        "en": "The bot has no AWS credentials, so it cannot call the language model. Its administrator must put "
        "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) in .env, or give it an IAM role.",
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
    "llm_model_error_summary": {
        "ko": "모델이 이 문서를 요약하지 못했습니다. 잠시 후 다시 시도해 주세요.",
        "en": "The model could not summarize this document. Please try again in a moment.",
    },
    "llm_stream_cut": {
        "ko": "(답변이 중간에 끊겼습니다. 다시 시도해 주세요.)",
        "en": "(The answer was cut off. Please try again.)",
    },
    "taken_over": {
        "ko": "(이 답변을 쓰던 서버가 멈춰, 다른 서버가 아래에 새로 답합니다.)",
        "en": "(The server writing this answer stopped; another one answers below.)",
    },
    "llm_empty": {
        "ko": "(모델이 빈 답변을 보냈습니다. 다시 시도해 주세요.)",
        "en": "(The model returned an empty answer. Please try again.)",
    },
    "nothing_to_translate": {
        "ko": "번역할 글이 없는 메시지입니다.",
        "en": "That message has no text to translate.",
    },
    "message_nothing_to_summarize": {
        "ko": "요약할 글이나 파일이 없는 메시지입니다.",
        "en": "That message has no text or file to summarize.",
    },
    "message_document": {
        "ko": "메시지.txt",
        "en": "message.txt",
    },
    "empty_question": {
        "ko": "질문이 비어 있습니다. 물어볼 내용을 적어 주세요.",
        "en": "The question is empty. Please write what you want to ask.",
    },
    "message_too_long": {
        "ko": "메시지가 너무 깁니다. 더 짧게 나누어 보내 주세요.",
        "en": "Your message is too long. Please send it in shorter parts.",
    },
    "rate_limited": {
        "ko": "요청이 너무 잦습니다. 잠시 후 다시 보내 주세요.",
        "en": "Too many requests. Please wait a moment before sending more.",
    },
    "budget_user_day": {
        "ko": "죄송합니다. 오늘 쓸 수 있는 사용량(토큰 {limit:,}개)을 모두 쓰셨습니다. "
        "{month}월 {day}일 0시({zone})에 다시 채워집니다. 더 필요하시면 관리자에게 문의해 주세요.",
        "en": "Sorry, you have used today's allowance ({limit:,} tokens). It refills at 00:00 {zone} on "
        "{date}. If you need more, please ask your administrator.",
    },
    "budget_team_month": {
        "ko": "죄송합니다. 이번 달 팀 사용량(토큰 {limit:,}개)을 모두 썼습니다. "
        "{month}월 {day}일 0시({zone})에 다시 채워집니다. 더 필요하시면 관리자에게 문의해 주세요.",
        "en": "Sorry, your team has used this month's allowance ({limit:,} tokens). It refills at 00:00 {zone} "
        "on {date}. If you need more, please ask your administrator.",
    },
    "usage_own": {
        "ko": "내 사용량\n오늘: 질문 {today_answers:,}개 · 문서 {today_documents:,}개 · 토큰 {today_tokens:,}개 "
        "(입력 {today_in:,} / 출력 {today_out:,})\n이번 달: 질문 {month_answers:,}개 · 문서 {month_documents:,}개 · "
        "토큰 {month_tokens:,}개 (입력 {month_in:,} / 출력 {month_out:,})",
        "en": "Your usage\nToday: answers {today_answers:,} · documents {today_documents:,} · tokens {today_tokens:,} "
        "({today_in:,} in / {today_out:,} out)\nThis month: answers {month_answers:,} · documents {month_documents:,} · "
        "tokens {month_tokens:,} ({month_in:,} in / {month_out:,} out)",
    },
    "usage_user_budget": {
        "ko": "하루 한도: 토큰 {limit:,}개 중 {left:,}개 남음 (매일 0시 {zone}에 다시 채워짐)",
        "en": "Daily allowance: {left:,} of {limit:,} tokens left (refills daily at 00:00 {zone})",
    },
    "usage_team_budget": {
        "ko": "팀 월 한도: 토큰 {limit:,}개 중 {left:,}개 남음 (매월 1일 0시 {zone}에 다시 채워짐)",
        "en": "Team's monthly allowance: {left:,} of {limit:,} tokens left (refills on the 1st at 00:00 {zone})",
    },
    "file_unreadable": {
        "ko": "파일을 열 수 없습니다: {name}",
        "en": "Cannot open the file: {name}",
    },
    "file_untrusted_source": {
        "ko": "파일이 허용되지 않은 주소에 있어 내려받지 않았습니다: {name}. 메신저에 직접 올린 파일만 읽을 수 있어요.",
        "en": "The file is at an address the bot does not fetch from, so it was not downloaded: {name}. "
        "Only files uploaded to the chat itself can be read.",
    },
    "doc_unsupported": {
        "ko": "지원하지 않는 파일 형식입니다. PDF, 한글(HWP·HWPX), Word, PowerPoint, Excel, OpenDocument, 텍스트, 사진·스캔 파일을 보내 주세요.",
        "en": "This file type is not supported. Please send PDF, HWP/HWPX, Word, PowerPoint, Excel, OpenDocument, text, or a picture or scan.",
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
    "doc_old_format": {
        "ko": "{format} 형식의 오래된 문서는 읽을 수 없습니다. 새 형식({save_as})으로 저장해 다시 보내 주세요.",
        "en": "Documents in the old {format} format cannot be read. Please save it as {save_as} and send it again.",
    },
    "doc_ocr_unavailable": {
        "ko": "이 파일의 글자는 그림으로만 들어 있어 문자 인식(OCR)이 필요한데, 문자 인식 프로그램(Tesseract)이 "
        "설치되어 있지 않습니다. 관리자에게 설치를 요청하거나 글자 정보가 있는 파일을 보내 주세요.",
        "en": "The text in this file is only in pictures and needs OCR, but the OCR program (Tesseract) is not "
        "installed. Please ask the administrator to install it, or send a file with a text layer.",
    },
    "doc_too_many_scanned_pages": {
        "ko": "글자 정보가 없는 쪽(스캔한 쪽)이 너무 많습니다. 문자 인식(OCR)은 한 문서에 {limit}쪽까지만 합니다. "
        "필요한 쪽만 나누어 보내 주세요.",
        "en": "Too many pages have no text layer (scanned pages). OCR reads up to {limit} pages per document. "
        "Please send only the pages you need.",
    },
    "doc_image_too_large": {
        "ko": "그림이 너무 큽니다. {megapixels}백만 화소 이하의 그림만 읽을 수 있습니다.",
        "en": "The picture is too large. Pictures up to {megapixels} megapixels can be read.",
    },
    "doc_nothing_recognized": {
        "ko": "그림에서 글자를 알아보지 못했습니다. 더 선명한 이미지나 글자 정보가 있는 파일을 보내 주세요.",
        "en": "No text could be recognized in the pictures. Please send a clearer image or a file with a text layer.",
    },
    "picture_not_seen": {
        "ko": "지금 이 봇의 모델은 글만 읽을 수 있어 사진을 볼 수 없습니다(사진 속 글자도 읽어 내지 못했습니다). "
        "궁금한 내용을 글로 적어 보내 주세요.",
        "en": "The model behind this bot reads text only, so it cannot see pictures (and no text could be read "
        "from this one). Please write your question out instead.",
    },
    "picture_too_large": {
        "ko": "사진이 너무 큽니다. {limit_mb}MB 이하의 사진만 모델에 보여 줄 수 있습니다. 크기를 줄여 다시 보내 주세요.",
        "en": "The picture is too large. Pictures up to {limit_mb} MB can be shown to the model; please send a "
        "smaller one.",
    },
    "reset_done": {
        "ko": "대화 기록을 지웠습니다. 새로 시작해 주세요.",
        "en": "The conversation has been cleared. Let's start over.",
    },
    "thinking": {
        "ko": "답변을 생각하고 있어요…",
        "en": "Thinking…",
    },
    "waiting": {
        "ko": "대기 중이에요… 모델이 다른 질문에 답하고 있어, 차례가 되면 바로 답할게요. ({position}번째)",
        "en": "Waiting… the model is answering other questions; this one comes as soon as its turn does (#{position}).",
    },
    "answer_comes_whole": {
        "ko": "지금 처리 중인 요청이 많아요. 답변은 다 쓰는 대로 한 번에 올려 드릴게요.",
        "en": "Many requests are in progress: your answer will be posted whole as soon as it is written.",
    },
    "result_comes_anew": {
        "ko": "(이 메시지를 고칠 수 있는 시간이 곧 끝나요. 결과가 그 뒤에 나오면 이 채널에 새 메시지로 알려 드릴게요.)",
        "en": "(This message can be changed only a little longer: a result that comes after that arrives as a new "
        "message in this channel, mentioning you.)",
    },
    "doc_reading": {
        "ko": "문서를 읽고 있어요…",
        "en": "Reading the document…",
    },
    "doc_ocr_progress": {
        "ko": "스캔한 쪽의 글자를 읽고 있어요… ({done}/{total}쪽)",
        "en": "Reading the text of the scanned pages… (page {done} of {total})",
    },
    "doc_progress": {
        "ko": "문서를 읽고 요약하는 중이에요… ({done}/{total})",
        "en": "Reading and summarizing the document… ({done}/{total})",
    },
    "not_allowed": {
        "ko": "죄송합니다. 이 채널이나 사용자에게는 봇 사용이 허용되지 않았습니다.",
        "en": "Sorry, the bot is not enabled for this channel or user.",
    },
    # --- Slack ---------------------------------------------------------------------------
    "slack_help": {
        "ko": "저는 한국어로 답하는 Llama 3 챗봇이에요.\n"
        "• 채널에서 `@봇 질문`처럼 부르면 스레드에 답하고, 그 스레드에서는 멘션 없이 대화를 이어 갈 수 있어요.\n"
        "• DM에서는 모든 메시지에 답해요.\n"
        "• 문서(PDF, 한글, Word, PowerPoint, Excel, OpenDocument, 텍스트, 사진·스캔)를 올리면 요약해 드리고, 같은 스레드에서 "
        "문서에 대해 물어볼 수 있어요. 파일과 함께 질문을 쓰면 그 질문에 답해요.\n"
        "• `초기화`(또는 `/reset`)는 대화 기록을 지우고, `도움말`은 이 안내를 보여 줘요. `/usage`는 내 사용량을 보여 줘요.",
        "en": "I'm a Llama 3 chatbot that answers in Korean first.\n"
        "• Mention me in a channel (`@bot question`) and I answer in a thread; keep talking there without "
        "mentioning me.\n"
        "• In a DM I answer every message.\n"
        "• Drop a document (PDF, HWP, Word, PowerPoint, Excel, OpenDocument, text, pictures and scans) and I summarize it; ask about it in "
        "the same thread. Text sent with the file is taken as your question about it.\n"
        "• `reset` (or `/reset`) clears the conversation; `help` shows this message; `/usage` shows your usage.",
    },
    "slack_reset_in_thread": {
        "ko": "채널에서는 스레드마다 대화를 따로 기억합니다. 지울 스레드에서 봇을 멘션해 `초기화`라고 보내 주세요.",
        "en": "In channels each thread is its own conversation: mention me with `reset` in the thread to clear.",
    },
    "slack_not_in_channel": {
        "ko": "제가 참여한 채널만 요약할 수 있어요. 채널에 저를 초대한 뒤 다시 요청해 주세요.",
        "en": "I can only summarize channels I am a member of. Invite me to the channel and ask again.",
    },
    "slack_no_channel": {
        "ko": "어느 채널을 요약할지 모르겠어요. 요약할 채널을 보면서 물어보거나, 그 채널에서 저를 멘션해 주세요.",
        "en": "I don't know which channel to summarize. Ask while viewing the channel, or mention me there.",
    },
    "slack_thread_only": {
        "ko": "스레드 요약은 스레드 안에서 저를 멘션해 요청해 주세요.",
        "en": "To summarize a thread, mention me inside that thread.",
    },
    "slack_thinking": {"ko": "답변을 쓰는 중…", "en": "is writing an answer…"},
    "slack_greeting": {
        "ko": "안녕하세요! 무엇이든 물어보세요. 문서를 올리면 요약하고, 채널이나 스레드도 요약해 드려요.",
        "en": "Hi! Ask me anything. Drop a document and I summarize it; I can summarize channels and threads too.",
    },
    "slack_prompts_title": {"ko": "이렇게 시작해 보세요", "en": "Try one of these"},
    "slack_prompt_document": {"ko": "문서 요약", "en": "Summarize a document"},
    "slack_prompt_document_message": {
        "ko": "문서를 요약하고 싶어요. 어떻게 올리면 되나요?",
        "en": "I want a document summarized. How do I share it?",
    },
    "slack_prompt_channel": {"ko": "이 채널 요약", "en": "Summarize this channel"},
    "slack_prompt_channel_message": {"ko": "이 채널 요약", "en": "summarize this channel"},
    "slack_prompt_missed": {"ko": "내가 놓친 것", "en": "What did I miss"},
    "slack_prompt_missed_message": {"ko": "내가 놓친 것", "en": "what did I miss"},
    "slack_prompt_help": {"ko": "무엇을 할 수 있나요?", "en": "What can you do?"},
    "slack_prompt_help_message": {"ko": "도움말", "en": "help"},
    "slack_home_title": {"ko": "Llama 챗봇 사용법", "en": "How to use the Llama bot"},
    "slack_home_howto": {
        "ko": "*질문하기* — 채널에서 `@봇 질문`, DM, 또는 오른쪽 위 AI 패널에서 물어보세요. 스레드에서는 멘션 없이 이어서 물어볼 수 있어요.\n"
        "*문서 요약* — 파일(PDF, 한글, Word, PowerPoint, Excel, 사진·스캔)을 올리면 요약하고, 같은 스레드에서 문서에 대해 물어볼 수 있어요.\n"
        "*대화 요약* — 스레드에서 `@봇 이 스레드 요약해줘`, 메시지 메뉴의 *스레드 요약*, 채널에서 `@봇 오늘 채널 요약`, "
        "`@봇 어제 채널 요약`, `@봇 지난 3시간 채널 요약`, `@봇 내가 놓친 것`.\n"
        "*답변 고르기* — 답변 아래 👍/👎로 의견을 남기고, *다시 생성*으로 새 답변을 받고, 답변 중에는 중지 버튼으로 멈출 수 있어요.\n"
        "*채널 설정* — 관리자는 `/봇설정`으로 채널의 말투(페르소나), 답변 언어, 스레드 멘션 규칙을 정해요.",
        "en": "*Ask* — `@bot question` in a channel, a DM, or the AI panel; keep asking in the thread without a mention.\n"
        "*Documents* — drop a file (PDF, HWP, Word, PowerPoint, Excel, pictures and scans) to get a summary, then ask about it.\n"
        "*Conversations* — `@bot summarize this thread` in a thread, the *스레드 요약* message shortcut, "
        "`@bot today summarize this channel`, `@bot last 3 hours summarize this channel`, `@bot what did I miss`.\n"
        "*Answers* — 👍/👎 under an answer, *Regenerate* for a new one, the stop button while it is written.\n"
        "*Channel settings* — admins set the channel's persona, answer language and thread mention rule with `/봇설정`.",
    },
    "slack_home_usage": {
        "ko": "*내 사용량*",
        "en": "*Your usage*",
    },
    "slack_file_download": {
        "ko": "파일을 내려받지 못했습니다: {name}. 봇에 files:read 권한이 있는지 확인해 주세요.",
        "en": "Could not download the file: {name}. Please check that the bot has the files:read scope.",
    },
    "slack_file_external": {
        "ko": "Slack 밖(Google Drive 등)에 저장된 외부 파일이라 읽지 않았습니다: {name}. "
        "파일을 내려받아 Slack에 직접 올려 주세요.",
        "en": "This file is stored outside Slack (Google Drive or similar), so the bot does not read it: {name}. "
        "Please download it and upload it to Slack directly.",
    },
    # --- team features (every front end) ---------------------------------------------------
    "answer_stopped": {"ko": "(사용자가 답변을 중지했습니다.)", "en": "(Stopped by the user.)"},
    "nothing_to_regenerate": {
        "ko": "다시 만들 답변이 없습니다. 먼저 질문해 주세요.",
        "en": "There is no answer to regenerate. Please ask something first.",
    },
    "not_the_last_answer": {
        "ko": "가장 최근 답변만 다시 만들 수 있어요.",
        "en": "Only the latest answer can be regenerated.",
    },
    "nothing_to_summarize": {
        "ko": "요약할 메시지가 없습니다: {title}",
        "en": "There are no messages to summarize: {title}",
    },
    "chat_thread": {"ko": "이 스레드", "en": "this thread"},
    "chat_recent": {"ko": "이 채널의 최근 {hours}시간", "en": "this channel's last {hours} hours"},
    "chat_summary_request": {"ko": "{what} 요약해 줘", "en": "Summarize {what}"},
    "discord_history_unreadable": {
        "ko": "이 채널의 메시지를 읽을 수 없어요. 저를 서버에 추가하고 메시지 기록 보기 권한을 주면 요약할 수 있어요.",
        "en": "I can't read this channel's messages. Add me to the server with the Read Message History "
        "permission and I can summarize it.",
    },
    "slack_shortcut_question": {"ko": "이 스레드 요약해줘", "en": "summarize this thread"},
    "chat_reading": {"ko": "메시지를 읽는 중이에요…", "en": "Reading the messages…"},
    "chat_progress": {"ko": "대화를 요약하는 중이에요… ({done}/{total})", "en": "Summarizing the conversation… ({done}/{total})"},
    "feedback_thanks": {"ko": "의견 고맙습니다!", "en": "Thanks for the feedback!"},
    "feedback_note_title": {"ko": "무엇이 문제였나요?", "en": "What went wrong?"},
    "feedback_note_label": {"ko": "아쉬웠던 점 (선택)", "en": "What was wrong (optional)"},
    "feedback_note_submit": {"ko": "보내기", "en": "Send"},
    "feedback_unavailable": {
        "ko": "지금은 의견을 저장할 수 없습니다. 잠시 후 다시 눌러 주세요.",
        "en": "Feedback cannot be saved right now. Please try again in a moment.",
    },
    "stop_button": {"ko": "중지", "en": "Stop"},
    "thread_name": {"ko": "질문", "en": "Question"},
    "regenerate_button": {"ko": "다시 생성", "en": "Regenerate"},
    "stop_button": {"ko": "중지", "en": "Stop"},
    "answer_not_yours": {
        "ko": "질문한 분만 누를 수 있는 버튼이에요.",
        "en": "Only the person who asked can use this button.",
    },
    "settings_saved": {"ko": "이 채널의 설정을 바꿨습니다.\n{summary}", "en": "This channel's settings were changed.\n{summary}"},
    "settings_summary": {
        "ko": "• 페르소나: {persona}\n• 답변 언어: {language}\n• 스레드 후속 질문에 멘션 필요: {mention}",
        "en": "• Persona: {persona}\n• Answer language: {language}\n• Thread follow-ups need a mention: {mention}",
    },
    "settings_default": {"ko": "(기본값)", "en": "(default)"},
    "settings_usage": {
        "ko": "사용법: `{command}` (현재 설정 보기), `{command} 페르소나 <설명>`, `{command} 언어 ko|en`, "
        "`{command} 멘션 필요|불필요`, `{command} 초기화`",
        "en": "Usage: `{command}` (show), `{command} persona <description>`, `{command} language ko|en`, "
        "`{command} mention on|off`, `{command} reset`",
    },
    "settings_admins_only": {
        "ko": "채널 설정은 관리자(Slack 워크스페이스 관리자, Discord 서버 관리 권한이 있는 멤버)나 지정된 사용자만 바꿀 수 있습니다.",
        "en": "Only admins (Slack workspace admins, Discord members who may manage the server) or configured users "
        "can change the channel settings.",
    },
    "settings_usage_discord": {
        "ko": "바꾸려면(관리자): `/봇설정` 옵션 `페르소나`, `언어`, `멘션`, `초기화`",
        "en": "To change them (admins): `/봇설정` with the options `페르소나` (persona), `언어` (language), "
        "`멘션` (mention), `초기화` (reset)",
    },
    "settings_server_only": {
        "ko": "설정은 서버의 채널마다 따로 정해요. 서버 채널에서 `/봇설정`을 써 주세요.",
        "en": "Settings belong to each server channel: use `/봇설정` in a server channel.",
    },
    "settings_unavailable": {
        "ko": "지금은 설정을 저장할 수 없습니다. 잠시 후 다시 시도해 주세요.",
        "en": "The settings cannot be saved right now. Please try again in a moment.",
    },
    # --- Discord -------------------------------------------------------------------------
    "discord_help": {
        "ko": "**사용법**\n"
        "`/ask 질문` — 질문에 답해요. 같은 채널(스레드에서는 스레드 전체)에서 이어 물으면 앞의 대화를 기억해요.\n"
        "`/summarize 파일 [질문]` — 올린 문서(PDF, 한글, Word, PowerPoint, Excel, OpenDocument, 텍스트, 사진·스캔)를 요약하거나, "
        "질문을 함께 쓰면 문서에 대해 답해요. 그다음 `/ask`로 문서에 대해 더 물어볼 수 있어요.\n"
        "`/summarize [시간]` (파일 없이) — 스레드에서는 스레드 전체를, 채널에서는 최근 대화(기본 24시간)를 요약해요.\n"
        "메시지 메뉴 → 앱 → `요약하기` · `번역하기` — 그 메시지(첨부 파일까지)를 요약하거나 한국어↔영어로 번역해요.\n"
        "답변 아래 버튼 — `중지`(쓰는 중), `다시 생성`, 👍 · 👎(무엇이 아쉬웠는지 남길 수 있어요).\n"
        "`/reset` — 이 대화의 기록과 올린 문서를 지워요.\n"
        "`/usage` — 내 사용량(오늘·이번 달)과 남은 한도를 보여 줘요.\n"
        "`/봇설정` — 이 채널의 설정(페르소나·답변 언어·스레드 멘션)을 보여 주고, 관리자는 바꿀 수 있어요.\n"
        "`/help` — 이 안내를 보여 줘요.",
        "en": "**How to use me**\n"
        "`/ask question` — I answer; ask again in the same channel (or thread) and I remember the conversation.\n"
        "`/summarize file [question]` — I summarize the document (PDF, HWP, Word, PowerPoint, Excel, OpenDocument, text, pictures and scans), "
        "or answer the question about it; then `/ask` more about it.\n"
        "`/summarize [hours]` (no file) — summarizes the whole thread, or the channel's recent messages (24 hours by default).\n"
        "Message menu → Apps → `요약하기` (summarize) · `번역하기` (translate) — that message (its files too), or it in Korean ↔ English.\n"
        "Buttons under answers — stop (while writing), regenerate, 👍 · 👎 (say what went wrong).\n"
        "`/reset` — clears this conversation and its documents.\n"
        "`/usage` — shows your usage today and this month, and what is left of your allowance.\n"
        "`/봇설정` — shows this channel's settings (persona, answer language, thread mentions); admins change them.\n"
        "`/help` — shows this message.",
    },
    "discord_help_messages": {
        "ko": "채널에서 저를 멘션하거나 DM을 보내도 답하고(채널에서는 그 메시지에 스레드를 열어 답해요), "
        "제 답변에 답장하거나 스레드에서 이어 말하면 대화가 이어져요. 파일을 함께 올리면 모두 요약해요.",
        "en": "You can also mention me in a channel (I answer in a thread opened on your message) or DM me; "
        "reply to my answer or go on in the thread to keep the conversation going. Attach files and I summarize each.",
    },
}


@dataclass(frozen=True)
class Texts:
    """Every sentence the bot says about itself, in one language: chosen once per bot from
    BOT_LANGUAGE and handed to whatever speaks to users."""

    language: Language

    def __call__(self, code: str, **params: object) -> str:
        """The message for `code`; unknown codes fall back to the generic one."""
        entry = _MESSAGES.get(code, _MESSAGES["internal"])
        template = entry.get(self.language, entry["ko"])
        try:
            return template.format(**params)
        except (KeyError, IndexError):
            return template

    def for_error(self, error: BaseException) -> str:
        """What to tell a user about `error`; never the exception's own text."""
        if isinstance(error, BotError):
            return self(error.code, **error.params)
        return self("internal")

    def document_progress(self, done: int, total: int) -> str:
        """The progress line of a document being read (no steps known yet) or summarized."""
        if not total:
            return self("doc_reading")
        return self("doc_progress", done=done, total=total)


def texts_for(language: str) -> Texts:
    return Texts("en" if language == "en" else "ko")
