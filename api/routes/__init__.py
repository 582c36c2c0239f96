"""The REST API under /api/v1: one router module per resource, each a thin edge over the use cases."""
