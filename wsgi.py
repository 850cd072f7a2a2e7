"""The WSGI entry point: `gunicorn wsgi:app`."""

from toolkit import create_app

app = create_app()
