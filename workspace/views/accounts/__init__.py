"""Organisers' accounts: signing in and out (``sign_in``), the second factor
(``two_factor``), the account page and its password (``account``), and resetting a
forgotten password by email (``password_reset``)."""
