"""WSGI entry point: ``gunicorn wsgi:app``."""

from archive.web import create_app

app = create_app()
