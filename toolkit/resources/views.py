"""Resource bank pages (filled in by the resources work)."""

from flask import Blueprint

bp = Blueprint("resources", __name__)
