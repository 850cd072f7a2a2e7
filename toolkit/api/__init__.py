"""The JSON API (/api/v1): the same services as the web pages and the CLI."""
