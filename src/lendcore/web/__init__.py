"""Server-rendered pages (customer app under ``/app``): Jinja2 templates over the same use cases and
read models as the API, sharing its authentication (the access token travels in a session cookie)."""
