"""Folders laid out as Hub repos -> a Hub endpoint, and the cards that describe them.

In: a dataset or model folder and results.json. Out: model cards rendered from templates with
every number from results (cards), one commit per publish (publish), and a Hub-compatible
server on 127.0.0.1 for tests and offline use (server).
"""
