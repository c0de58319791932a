"""Attain: sales incentive compensation plans as reviewed text."""

__version__ = "0.1.0"
