"""Security: PII encryption, keyed hashes and masking, log redaction, staff password hashing."""
