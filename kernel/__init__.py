"""The shared kernel: settings, database, clock, auth, audit and the directory of people and groups.

Everything in Vila builds on this package; it imports nothing from `policies`, `notify`, `api`
or `workers`.
"""
