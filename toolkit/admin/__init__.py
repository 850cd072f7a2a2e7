"""The organizers' pages under /admin: the dashboard, accounts, the audit log."""
