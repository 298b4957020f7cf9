"""Bulk mail: planning a mailing, sending it in batches, suppression, progress.

Feature apps use it through ``mailer.services`` and ``mailer.selectors``, which re-export
the public functions; docs/emails.md ("Bulk mail") describes the whole.
"""
