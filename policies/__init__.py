"""Availability, rosters, HR rest-time policies and the rest ledger, over the pure decision core in `policies.core`."""
