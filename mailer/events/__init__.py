"""Provider webhooks: what happened to the mail we sent, and the suppression it leads to.

anymail parses each provider's webhook into normalised tracking events. The view
(``views``) answers for the providers configured in ``MAILER_WEBHOOK_ESPS`` only; the
receiver (``receiver``) stores each event that matters as one ``EmailEvent`` row, keyed by
its id, and enqueues a task; the task (``processing``) records the final status of the
message and applies suppression. See docs/emails.md ("Webhooks").
"""
