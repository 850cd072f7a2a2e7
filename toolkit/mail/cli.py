"""`toolkit mail ...` (filled in by the mail work)."""

from flask.cli import AppGroup

mail_cli = AppGroup("mail", help="The outbox: send queued messages, send a test message.")
