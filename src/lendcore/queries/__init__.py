"""Read models shared by the CLI, the HTTP API and the pages: each answers one question from the
store, as typed records (:class:`~lendcore.core.records.JsonRecord`), and writes nothing."""
