"""Import and export of register entities (CSV, JSON, YAML, XLSX, bundles, AI Incident Database)."""

from __future__ import annotations

from register.io._bundle import Bundle

__all__ = ["Bundle"]
