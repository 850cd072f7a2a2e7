"""`toolkit users ...` and `toolkit audit list`."""

from flask.cli import AppGroup

users_cli = AppGroup("users", help="Organizer accounts.")
audit_cli = AppGroup("audit", help="The audit log.")
