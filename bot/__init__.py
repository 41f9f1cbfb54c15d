"""知识产权维权助手: the assistant's own package.

Sub-packages: ``knowledge`` (categories, directory, routing; pure Python),
``nlu`` (Rasa integration: pipeline components, model loading). Nothing here
runs at import time.
"""
