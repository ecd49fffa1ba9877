"""The web pages' words: a thin re-export of their area of the one catalogue, labgen/words.py
(add new words there, in both languages)."""

from labgen.words import table

WORDS = table("web")
