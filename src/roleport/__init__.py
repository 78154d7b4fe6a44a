"""Roleport: a self-hosted, wire-compatible implementation of AWS IAM Roles Anywhere."""

__version__ = "0.1.0"

__all__ = ["__version__"]
