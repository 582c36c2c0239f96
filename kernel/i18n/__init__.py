"""All sv/en texts, one catalog module per area."""
