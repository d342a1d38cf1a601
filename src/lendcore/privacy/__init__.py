"""Privacy rights (PIPL): export of a customer's data, deletion requests with processing restricted
to storage where the law requires keeping records, and the retention job (docs/post-loan.md)."""
