"""The device fleet: the region's phones and tablets, who has them, their subscriptions, loans and offboarding."""
