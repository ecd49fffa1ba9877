"""The classroom web application (seat pages and the instructor's board): app.py builds it,
served_seats.py holds the seats it serves, the *_routes.py modules answer the requests."""
