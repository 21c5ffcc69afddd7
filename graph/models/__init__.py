"""Chat models: the three tiers, the OpenAI-compatible endpoint, structured output and JSON repair."""
