"""A tiny bulk email kind for the mailer's own tests, the e2e workers and the benchmark.

The mailer imports no feature app, so its tests bring their own kind: recipients are
``"test.person:<n>"``, their address ``person<n>@example.org``; ``about["skip"]`` lists
numbers the builder finds nobody for. Register it with ``register()`` (the tests) or by
installing the app ``tests.bulkkind`` (the workers: ``tests.bulkkind.settings``).
"""
