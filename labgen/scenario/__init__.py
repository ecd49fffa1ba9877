"""Scenarios: a walkthrough as steps (load), run over the lab's connections (runner), and
written down for students (transcript)."""
