"""Credit-bureau (征信) reporting: the field catalogue, account records and the XML message file.

The status rules are pure and live in :mod:`lendcore.core.bureau_status`; this package turns them into
record-210-family account records and a message file checked against the catalogue.
"""
