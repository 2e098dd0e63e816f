"""Tiny constants shared by cheap modules (the CLI imports these without loading pydantic or YAML)."""

from __future__ import annotations

DEFAULT_POLICY_ID = "yantai-2020"
