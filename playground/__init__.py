"""Side-by-side LLM playground: one prompt, several backends, measured alike."""

__version__ = "0.1.0"
