"""Admin pages for the outbox (filled in by the mail work)."""

from flask import Blueprint

bp = Blueprint("mail", __name__, url_prefix="/admin/outbox")
