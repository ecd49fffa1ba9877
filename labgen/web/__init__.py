"""The classroom web application (seat pages and the instructor's board): app.py, seats.py."""
