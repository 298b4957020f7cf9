"""The workspace's own business logic (accounts, two-factor); organisations' work is done by
the services of ``campaigns`` and ``petitions``, which the views call directly."""
