"""`toolkit resources ...` (filled in by the resources work)."""

from flask.cli import AppGroup

resources_cli = AppGroup("resources", help="The resource bank.")
