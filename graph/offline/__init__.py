"""The offline rules model: slot extraction, the rules grammar and the chat model built on them."""
