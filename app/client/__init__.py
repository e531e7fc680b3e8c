"""Python reference client: the protocol of docs/PROTOCOL.md with the crypto of CRYPTO.md v1.

Used by the tests, by ``bench/`` and by ``vhouse client``: ``socket`` (the base both clients
share), ``youth`` and ``counsellor`` (one side each), ``device`` (a counsellor's keys),
``envelopes`` (sealing and opening messages) and ``api`` (login and JSON posts over HTTP).
"""

from app.client.api import Credentials, login
from app.client.counsellor import CounsellorClient
from app.client.youth import YouthClient

__all__ = ["CounsellorClient", "Credentials", "YouthClient", "login"]
