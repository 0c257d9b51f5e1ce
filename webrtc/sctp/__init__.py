"""SCTP over DTLS (RFC 9260, RFC 8261) and data channels (DCEP, RFC 8832).

Will hold: SCTP packets and chunks, the sans-I/O association with congestion
control, partial reliability and stream reset, and the data channel protocol.
"""
