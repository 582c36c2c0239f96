"""Pydantic shapes of the policies domain, in and out: one module per concern (import from it)."""
