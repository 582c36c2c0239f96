"""The e-mail channel: a person's held messages and digests also as one e-mail at release time."""
