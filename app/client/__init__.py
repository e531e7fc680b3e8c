"""Python reference client: the protocol of docs/PROTOCOL.md (crypto arrives with CRYPTO.md v1).

Used by the tests, by ``bench/`` and by ``vhouse client``.
"""

from app.client.session import CounsellorClient, YouthClient, login

__all__ = ["CounsellorClient", "YouthClient", "login"]
