"""RTP and RTCP (RFC 3550, 8285, 4585, 5104), SRTP via pylibsrtp, payload formats.

Will hold: packets, header extensions, RTCP feedback, SRTP contexts, sender and
receiver stream engines, jitter buffer, and the codec packetizers.
"""
