"""Whether an endpoint is OpenAI itself (imported by the tiers and by the endpoint client alike)."""

from __future__ import annotations

from urllib.parse import urlparse


def is_openai_url(url: str | None) -> bool:
    """True for OpenAI itself (no base URL, or an openai.com host)."""
    return not url or (urlparse(url).hostname or "").endswith("openai.com")
