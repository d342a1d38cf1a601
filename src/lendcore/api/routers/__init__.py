"""The API's routers; :func:`lendcore.api.app.create_app` lists the ones it serves."""
