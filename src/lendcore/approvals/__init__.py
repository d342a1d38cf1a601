"""Maker-checker (四眼原则): a staff action is proposed by one member of staff and approved by another,
whose role may approve that kind; approval runs the existing use case. See :mod:`.proposals`."""
