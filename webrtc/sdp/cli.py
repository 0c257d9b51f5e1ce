"""``python -m webrtc sdp FILE|-``: validate an SDP and print a readable summary.

Exit status 0 when the description parses, 1 with the line number on a parse
error, 2 on a usage or I/O error.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from webrtc.sdp.description import MediaDescription, SessionDescription
from webrtc.sdp.errors import SdpParseError

__all__ = ["main", "summarize"]

USAGE = "usage: python -m webrtc sdp FILE|-   (validate an SDP and summarize it)"


def _codec_lines(media: MediaDescription) -> list[str]:
    out = []
    for codec in media.codecs():
        text = f"    {codec.payload_type} {codec}"
        if codec.parameters:
            text += f" [{codec.parameters}]"
        if codec.feedback:
            text += " fb: " + ", ".join(
                fb.type if fb.parameter is None else f"{fb.type} {fb.parameter}"
                for fb in codec.feedback)
        out.append(text)
    return out


def summarize(sd: SessionDescription) -> str:
    """A human-readable multi-line summary of a description."""
    origin = sd.origin
    lines = [
        f"SDP session {origin.session_id} version {origin.session_version} "
        f"from {origin.address} ({len(sd.media)} media section"
        f"{'' if len(sd.media) == 1 else 's'})"
    ]
    bundle = sd.bundle
    if bundle is not None:
        lines.append(f"  BUNDLE: {' '.join(bundle) if bundle else '(empty)'}")
    flags = []
    if sd.ice_lite:
        flags.append("ice-lite")
    if sd.extmap_allow_mixed:
        flags.append("extmap-allow-mixed")
    semantic = sd.msid_semantic
    if semantic is not None:
        flags.append("msid-semantic " + " ".join([semantic.semantic, *semantic.identifiers]))
    if flags:
        lines.append(f"  session: {', '.join(flags)}")
    for index, media in enumerate(sd.media):
        state = " (rejected)" if media.rejected else ""
        lines.append(
            f"media {index}: {media.kind} port {media.port} {media.protocol}"
            f" mid={media.mid or '-'} {media.effective_direction.value}{state}"
        )
        if media.is_data_channel:
            lines.append(
                f"  data channels: sctp-port {media.sctp_port}, "
                f"max-message-size {media.max_message_size}"
            )
        else:
            codecs = _codec_lines(media)
            lines.append(f"  codecs: {len(codecs) or '(none)'}")
            lines.extend(codecs)
        connection = sd.connection_for(media)
        if connection is not None:
            rtcp = media.rtcp
            lines.append(f"  connection: {connection}"
                         + (f" (rtcp port {rtcp.port})" if rtcp is not None else ""))
        credentials = sd.ice_credentials_for(media)
        if credentials is not None:
            options = sd.ice_options_for(media)
            lines.append(
                f"  ICE: ufrag {credentials[0]} pwd {credentials[1]}"
                + (f" options {' '.join(options)}" if options else "")
            )
        for fingerprint in sd.fingerprints_for(media):
            lines.append(f"  fingerprint: {fingerprint.algorithm} {fingerprint.value}")
        setup = sd.setup_for(media)
        if setup is not None:
            lines.append(f"  setup: {setup.value}")
        transport = []
        if media.rtcp_mux:
            transport.append("rtcp-mux")
        if media.rtcp_rsize:
            transport.append("rtcp-rsize")
        if media.bundle_only:
            transport.append("bundle-only")
        if transport:
            lines.append(f"  {', '.join(transport)}")
        rids = media.rids
        if rids:
            lines.append("  rids: " + ", ".join(f"{rid.id} {rid.direction.value}" for rid in rids))
        simulcast = media.simulcast
        if simulcast is not None:
            lines.append(f"  simulcast: {simulcast}")
        msids = media.msids
        if msids:
            lines.append("  msid: " + ", ".join(map(str, msids)))
        ssrcs = sorted({ssrc.ssrc for ssrc in media.ssrcs})
        if ssrcs:
            lines.append("  ssrcs: " + " ".join(map(str, ssrcs)))
        candidates = media.candidates
        lines.append(f"  candidates: {len(candidates)}"
                     + (" (end-of-candidates)" if media.end_of_candidates else ""))
        for candidate in candidates:
            lines.append(f"    {candidate}")
    return "\n".join(lines)


def _read(path: str, stdin: TextIO) -> str:
    if path == "-":
        return stdin.read()
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def main(argv: list[str]) -> int:
    """Validate ``argv[0]`` (a path, or ``-`` for stdin) and print its summary."""
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr if len(argv) != 1 else sys.stdout)
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    path = argv[0]
    try:
        text = _read(path, sys.stdin)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"{path}: cannot read: {exc}", file=sys.stderr)
        return 2
    try:
        sd = SessionDescription.parse(text)
    except SdpParseError as exc:
        where = f"line {exc.line_number}" if exc.line_number is not None else "input"
        print(f"{path}: {where}: {exc.reason}", file=sys.stderr)
        if exc.line is not None:
            print(f"  {exc.line}", file=sys.stderr)
        return 1
    try:
        print(summarize(sd))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (e.g. piped into head): not an error of ours.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0
