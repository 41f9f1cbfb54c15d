"""Rasa integration for the NLU: custom pipeline components and model loading.

Unlike ``bot.knowledge`` this package imports rasa, lazily where it can.
"""
