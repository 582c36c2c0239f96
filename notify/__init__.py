"""Messages from sending to the phone: audiences, devices, decisions per recipient, deliveries,
holds and releases, digests, escalation, the jobs that carry them and the provider transports."""
