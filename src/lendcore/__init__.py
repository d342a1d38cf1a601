"""lendcore: an open lending core for internet consumer credit."""

__version__ = "0.1.0"
