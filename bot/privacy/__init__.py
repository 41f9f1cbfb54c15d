"""Masking personal identifiers (phone and ID-card numbers) before text leaves the process.

``masking`` is pure Python and never imports rasa; ``logs`` is a logging filter; ``broker`` is a
Rasa event broker that masks events before handing them to a real broker. Nothing here runs at
import time.
"""
