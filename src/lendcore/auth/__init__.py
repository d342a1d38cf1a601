"""Who is calling: staff users (username + password, roles), customers (phone + one-time code),
access and refresh tokens. Shell code (database, clock, randomness); the HTTP layer
(:mod:`lendcore.api.auth`) and the CLI (``lendcore admin``) call it."""
