"""The dialogue's pure core: answer parsing, filing assembly, duty hours, clarifying choices.

Actions in actions/ read slots and call in here; nothing here imports rasa.
"""
