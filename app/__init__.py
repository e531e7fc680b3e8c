"""Virtual House: anonymous, end-to-end encrypted chat for young people and counsellors."""

__version__ = "0.1.0"
