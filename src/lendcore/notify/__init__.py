"""Customer notifications: SMS and push sinks, delivery tracking, the ``customer.notify`` job.

Modules: :mod:`~lendcore.notify.sinks` (the interface and the development sink),
:mod:`~lendcore.notify.simulated` (a provider with seeded receipts), :mod:`~lendcore.notify.delivery`
(the messages in the database, sending at most once, receipts, polls, flags and faults),
:mod:`~lendcore.notify.jobs` (the job handlers). docs/payments.md, "Reminders and notifications".
"""
