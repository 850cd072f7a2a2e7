"""Organizers: accounts, login, roles, and the audit log."""
