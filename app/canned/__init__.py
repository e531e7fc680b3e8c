"""Canned replies (issue 11): per-language texts admins write and counsellors insert into the
composer for editing. ``engine.py`` the pure rules, ``repository.py`` the SQL, ``service.py``
the audited changes, ``endpoints.py`` the HTTP API, ``cli.py`` ``vhouse canned``."""
