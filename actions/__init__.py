"""Rasa SDK actions: thin adapters that read slots, call into ``bot`` and fill responses."""
