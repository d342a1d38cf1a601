"""Durable background jobs on both databases: a transactional outbox (:mod:`.outbox`), a worker that
claims jobs with a lease and retries with backoff (:mod:`.worker`), dead letters listable and
retryable (:mod:`.admin`), and a scheduler of timed jobs (:mod:`.schedule`, :mod:`.scheduler`).
See docs/payments.md, "Jobs"."""
