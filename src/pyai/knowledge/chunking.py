"""Turn an uploaded document into passages worth retrieving (~500–800 characters each)."""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from pypdf.errors import PdfReadError

TARGET = 700
MAX = 900
HEADING_MARK = "\u0001"

_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_MARKS = re.compile(r"(\*\*|__|\*|_|`+|~~)")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*)$")


class DocumentError(ValueError):
    """The upload cannot be turned into text (the message is safe to show)."""


def extract_text(data: bytes, content_type: str) -> str:
    if content_type == "application/pdf":
        try:
            reader = PdfReader(io.BytesIO(data))
            text = "\n\n".join((page.extract_text() or "") for page in reader.pages)
        except (PdfReadError, ValueError, KeyError, TypeError) as e:
            raise DocumentError(f"the PDF could not be read: {e}") from None
        if not text.strip():
            raise DocumentError("the PDF has no extractable text (scanned images are not supported)")
        return text
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise DocumentError("text documents must be UTF-8") from None
    if content_type == "text/markdown":
        text = _strip_markdown(text)
    if not text.strip():
        raise DocumentError("the document is empty")
    return text


def _strip_markdown(text: str) -> str:
    lines = []
    in_code = False
    for line in text.splitlines():
        if line.strip().startswith("```"):
            in_code = not in_code
            continue
        if m := _HEADING.match(line):
            lines += ["", HEADING_MARK + m.group(2).strip() + ".", ""]  # a heading opens a new chunk
            continue
        line = _MD_LINK.sub(r"\1", line)
        line = _MD_MARKS.sub("", line)
        lines.append(re.sub(r"^\s*([-*+]|\d+\.)\s+", "", line))
    return "\n".join(lines)


def chunk(text: str) -> list[str]:
    """Paragraphs merged up to ``TARGET`` characters; overlong paragraphs split at sentences."""
    paragraphs = [re.sub(r"\s+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    pieces: list[str] = []
    for p in filter(None, paragraphs):
        if len(p) <= MAX:
            pieces.append(p)
            continue
        sentence_run = ""
        for s in re.split(r"(?<=[.!?])\s+", p):
            if sentence_run and len(sentence_run) + len(s) > TARGET:
                pieces.append(sentence_run)
                sentence_run = ""
            sentence_run = f"{sentence_run} {s}".strip()
        if sentence_run:
            pieces.append(sentence_run)
    chunks: list[str] = []
    for piece in pieces:
        heading = piece.startswith(HEADING_MARK)
        piece = piece.lstrip(HEADING_MARK)
        if chunks and not heading and len(chunks[-1]) + len(piece) + 1 <= TARGET:
            chunks[-1] = f"{chunks[-1]} {piece}"
        else:
            chunks.append(piece[: MAX * 2])
    return chunks
