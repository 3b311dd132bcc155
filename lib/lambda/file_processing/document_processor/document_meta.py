"""Document metadata: text statistics, PDF structure, and an optional Bedrock summary."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from file_records import ExtractionError, S3Object

PREVIEW_CHARS = 200
#: Text sent to the model for a summary (the rest is not summarized).
SUMMARY_INPUT_CHARS = 8000
SUMMARY_MAX_TOKENS = 200
_PDF_VERSION = re.compile(rb"^%PDF-(\d\.\d)")
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


def text_info(data: bytes) -> dict[str, Any]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ExtractionError(f"not UTF-8 text: {exc.reason} at byte {exc.start}") from None
    return {
        "format": "text",
        "lines": len(text.splitlines()),
        "words": len(text.split()),
        "characters": len(text),
        "preview": text[:PREVIEW_CHARS],
    }


def pdf_info(data: bytes) -> dict[str, Any]:
    match = _PDF_VERSION.match(data)
    if not match:
        raise ExtractionError("not a PDF document: no %PDF- header")
    return {
        "format": "pdf",
        "pdf_version": match.group(1).decode(),
        "pages": len(_PDF_PAGE.findall(data)),
        "complete": b"%%EOF" in data[-1024:],
    }


def model_request(model_id: str, text: str) -> dict[str, Any]:
    """The InvokeModel body for the model's family (Anthropic Claude or Amazon Titan Text)."""
    prompt = f"Summarize this document in at most three sentences:\n\n{text[:SUMMARY_INPUT_CHARS]}"
    if model_id.startswith("anthropic."):
        return {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": SUMMARY_MAX_TOKENS,
            "messages": [{"role": "user", "content": [{"type": "text", "text": prompt}]}],
        }
    if model_id.startswith("amazon.titan-text"):
        return {"inputText": prompt, "textGenerationConfig": {"maxTokenCount": SUMMARY_MAX_TOKENS}}
    raise ValueError(f"model {model_id!r} is not an Anthropic Claude or Amazon Titan Text model")


def model_answer(model_id: str, body: dict[str, Any]) -> str:
    if model_id.startswith("anthropic."):
        return "".join(part.get("text", "") for part in body.get("content", [])).strip()
    return "".join(r.get("outputText", "") for r in body.get("results", [])).strip()


@dataclass(frozen=True)
class Summarizer:
    """Asks one Bedrock model for a summary of a text document."""

    model_id: str
    client: Any

    def __call__(self, text: str) -> str:
        resp = self.client.invoke_model(
            modelId=self.model_id,
            contentType="application/json",
            accept="application/json",
            body=json.dumps(model_request(self.model_id, text)),
        )
        return model_answer(self.model_id, json.loads(resp["body"].read()))


def make_extractor(summarizer: Summarizer | None):
    """The document extractor; with a summarizer, text documents get a ``summary``."""

    def extract(obj: S3Object, data: bytes) -> dict[str, Any]:
        if obj.suffix == ".pdf":
            return pdf_info(data)
        info = text_info(data)
        if summarizer is not None and info["words"]:
            try:
                info["summary"] = summarizer(data.decode("utf-8-sig"))
            except Exception as exc:  # a summary is optional; the metadata is not
                info["summary_error"] = f"{type(exc).__name__}: {exc}"[:300]
        return info

    return extract
