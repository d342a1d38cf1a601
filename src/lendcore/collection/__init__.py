"""Collection (催收): contact attempts checked against the rules at contact time and logged, and the
queue of overdue contracts by bucket. The rules are pure (:mod:`lendcore.core.collection_rules`)."""
