"""The compiler's version: one place, read by the CLI, the generated header and SARIF."""

__version__ = "0.1.0"
