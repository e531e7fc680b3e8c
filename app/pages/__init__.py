"""Server-rendered pages (Jinja2): the house, the youth chat, the staff console."""
