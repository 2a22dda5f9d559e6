"""Biller Console: Invoice Cloud <-> Caselle operator console.

Everything in this package except ``console.ui`` is GUI-free (a test enforces it).
"""

__version__ = "0.1.0"
