"""Local stand-ins for the push providers and other outside services, for tests and the embedded mode."""
