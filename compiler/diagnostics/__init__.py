"""Diagnostics: the model, the code registry, the examples, and the renderers."""
