"""Charte: the confidentiality policy as code."""

__version__ = "0.1.0"
