"""The workspace's forms, one module per topic (like ``workspace.routes``)."""
