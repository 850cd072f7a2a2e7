"""Email: every message goes through the outbox and leaves only through this package."""
