"""The ``lendcore`` command line: thin commands that parse, call one use case and render."""
