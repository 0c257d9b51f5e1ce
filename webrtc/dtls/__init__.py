"""DTLS 1.2 (RFC 6347) written on the ``cryptography`` primitives.

Will hold: the record layer, the client and server handshake, certificates and
fingerprints, SRTP keying-material export (RFC 5764), and a small asyncio
adapter (``webrtc.dtls.aio``).
"""
