"""Addresses shared by the staff review tests (from the documentation ranges)."""

from __future__ import annotations

BAD_IP = "203.0.113.7"
OTHER_IP = "198.51.100.20"
