"""The WSGI entry point: `gunicorn wsgi:app`."""

import gc

from toolkit import create_app

app = create_app()

# What loading the app made (modules, tables, templates, translations: a few hundred thousand
# objects) lives as long as the process. Frozen, the garbage collector no longer walks it
# in every full collection, a pause of tens of milliseconds that came every few thousand
# requests. Python's documentation advises it for servers that fork workers, as gunicorn does.
gc.freeze()
