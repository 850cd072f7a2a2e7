"""Tests of the outbox: queueing, delivery (SMTP and .eml), retries, the CLI and admin pages."""
