"""The workspace's forms, one module per topic (as ``routes/`` and ``views/``)."""
