"""JSEP (RFC 8829) offers and answers, as far as data channels need them.

A data-channel session is one BUNDLE group (RFC 9143) holding one
``m=application 9 UDP/DTLS/SCTP webrtc-datachannel`` section (RFC 8841) that
carries the ICE credentials (RFC 8839), the DTLS fingerprints and setup role
(RFC 8842), the SCTP port and the largest message the endpoint accepts.

- :func:`create_offer` writes an offer: ``a=setup:actpass`` (RFC 8842
  section 5.2: the offerer lets the answerer choose), ``a=ice-options:trickle``,
  ``a=group:BUNDLE``.
- :func:`create_answer` answers an offer: the data section is accepted with
  ``a=setup:active`` when the offer says ``actpass`` (RFC 8829 section 5.3.1
  recommends active, so the answerer's ClientHello can leave as soon as ICE
  connects); any other section is rejected with port 0 and stays in its
  place, as RFC 8829 section 5.3.1 requires every offered m= line be answered.
- :func:`remote_parameters` reads what a peer's description says about the
  data transport, with the session-level fallbacks and the defaults of
  RFC 8841 (no ``max-message-size`` means 64 KiB; 0 means no limit).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from webrtc.sdp.attributes import Connection, Fingerprint, MsidSemantic, Setup
from webrtc.sdp.candidate import Candidate
from webrtc.sdp.description import MediaDescription, SessionDescription
from webrtc.sdp.errors import SdpParseError

__all__ = [
    "DATA_CHANNEL_FORMAT",
    "DATA_CHANNEL_PROTOCOL",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "DEFAULT_SCTP_PORT",
    "JsepError",
    "LocalParameters",
    "RemoteParameters",
    "create_answer",
    "create_offer",
    "dtls_role_is_client",
    "mids",
    "remote_parameters",
    "with_candidates",
]

DATA_CHANNEL_PROTOCOL = "UDP/DTLS/SCTP"
DATA_CHANNEL_FORMAT = "webrtc-datachannel"
DEFAULT_SCTP_PORT = 5000
# RFC 8841 section 6: without a=max-message-size the peer accepts 64 KiB.
DEFAULT_MAX_MESSAGE_SIZE = 65536
_DATA_PROTOCOLS = ("UDP/DTLS/SCTP", "TCP/DTLS/SCTP", "DTLS/SCTP")


class JsepError(ValueError):
    """A description that is well-formed SDP but unusable for this negotiation."""


@dataclass(frozen=True)
class LocalParameters:
    """What this endpoint puts in its data-channel section."""

    ice_ufrag: str
    ice_pwd: str
    fingerprints: tuple[Fingerprint, ...]
    sctp_port: int = DEFAULT_SCTP_PORT
    max_message_size: int = 262144
    candidates: tuple[Candidate, ...] = ()
    end_of_candidates: bool = False
    ice_lite: bool = False


@dataclass(frozen=True)
class RemoteParameters:
    """What a peer's description says about the data transport."""

    mid: str
    mline_index: int
    ice_ufrag: str
    ice_pwd: str
    ice_options: tuple[str, ...]
    ice_lite: bool
    fingerprints: tuple[Fingerprint, ...]
    setup: Setup
    sctp_port: int
    max_message_size: int  # 0: no limit (RFC 8841 section 6)
    candidates: tuple[Candidate, ...] = field(default=())
    end_of_candidates: bool = False
    bundle: tuple[str, ...] = ()


def _data_section(parameters: LocalParameters, mid: str, setup: Setup) -> MediaDescription:
    media = MediaDescription("application", 9, DATA_CHANNEL_PROTOCOL, [DATA_CHANNEL_FORMAT])
    media.connection = Connection("0.0.0.0")
    for candidate in parameters.candidates:
        media.add_candidate(candidate)
    if parameters.end_of_candidates:
        media.end_of_candidates = True
    media.ice_ufrag, media.ice_pwd = parameters.ice_ufrag, parameters.ice_pwd
    media.ice_options = ["trickle"]
    media.fingerprints = list(parameters.fingerprints)
    media.setup = setup
    media.mid = mid
    media.sctp_port = parameters.sctp_port
    media.max_message_size = parameters.max_message_size
    return media


def _session(session_id: int | None, session_version: int, ice_lite: bool) -> SessionDescription:
    description = SessionDescription.new(session_id=session_id, session_version=session_version)
    if ice_lite:
        description.ice_lite = True
    return description


def create_offer(parameters: LocalParameters, *, mid: str = "0", session_id: int | None = None,
                 session_version: int = 0) -> SessionDescription:
    """An offer with one data-channel section in a BUNDLE group."""
    description = _session(session_id, session_version, parameters.ice_lite)
    description.bundle = [mid]
    description.msid_semantic = MsidSemantic("WMS")
    description.add_media(_data_section(parameters, mid, Setup.ACTPASS))
    return description


def _answer_setup(offered: Setup) -> Setup:
    # RFC 8842 section 5.3: the answerer takes the role the offer leaves it.
    if offered is Setup.ACTPASS or offered is Setup.PASSIVE:
        return Setup.ACTIVE
    if offered is Setup.ACTIVE:
        return Setup.PASSIVE
    raise JsepError(f"cannot answer a=setup:{offered.value}")


def create_answer(offer: SessionDescription, parameters: LocalParameters, *,
                  session_id: int | None = None, session_version: int = 0,
                  setup: Setup | None = None) -> SessionDescription:
    """Answer ``offer``: accept its data section, reject every other one.

    ``setup`` forces our DTLS role; a subsequent answer on a transport that is
    already up keeps the role it has (RFC 8842 section 5.5), whatever the
    offer proposes.
    """
    remote = remote_parameters(offer)
    description = _session(session_id, session_version, parameters.ice_lite)
    description.msid_semantic = MsidSemantic("WMS")
    for index, offered in enumerate(offer.media):
        if index == remote.mline_index:
            description.add_media(_data_section(parameters, remote.mid,
                                                setup or _answer_setup(remote.setup)))
            continue
        rejected = MediaDescription(offered.kind, 0, offered.protocol, offered.formats)
        if offered.mid is not None:
            rejected.mid = offered.mid
        description.add_media(rejected)
    if remote.bundle:
        description.bundle = [remote.mid]
    return description


def _find_data_section(description: SessionDescription) -> tuple[int, MediaDescription]:
    for index, media in enumerate(description.media):
        if (media.kind == "application" and media.protocol in _DATA_PROTOCOLS
                and not media.rejected):
            return index, media
    raise JsepError("the description has no data-channel (m=application ... SCTP) section")


def _sctp_port(media: MediaDescription) -> int:
    port = media.sctp_port
    if port is not None:
        return port
    # Pre-RFC 8841 form: "m=application 9 DTLS/SCTP 5000" with a=sctpmap.
    for value in media.formats:
        if value.isdigit():
            return int(value)
    return DEFAULT_SCTP_PORT


def remote_parameters(description: SessionDescription) -> RemoteParameters:
    """The data transport's parameters from a peer's offer or answer."""
    index, media = _find_data_section(description)
    credentials = description.ice_credentials_for(media)
    if credentials is None:
        raise JsepError("the data-channel section has no a=ice-ufrag/a=ice-pwd")
    fingerprints = description.fingerprints_for(media)
    if not fingerprints:
        raise JsepError("the data-channel section has no a=fingerprint")
    setup = description.setup_for(media) or Setup.ACTIVE  # RFC 4145: active by default
    mid = media.mid if media.mid is not None else str(index)
    size = media.max_message_size
    try:
        candidates = tuple(media.candidates)
    except SdpParseError as error:  # pragma: no cover - parse() validated them already
        raise JsepError(str(error)) from error
    return RemoteParameters(
        mid=mid,
        mline_index=index,
        ice_ufrag=credentials[0],
        ice_pwd=credentials[1],
        ice_options=tuple(description.ice_options_for(media)),
        ice_lite=description.ice_lite,
        fingerprints=tuple(fingerprints),
        setup=setup,
        sctp_port=_sctp_port(media),
        max_message_size=DEFAULT_MAX_MESSAGE_SIZE if size is None else size,
        candidates=candidates,
        end_of_candidates=media.end_of_candidates,
        bundle=tuple(description.bundle or ()),
    )


def dtls_role_is_client(local_setup: Setup, remote_setup: Setup) -> bool:
    """Whether this endpoint starts the DTLS handshake (RFC 8842 section 5)."""
    if local_setup is Setup.ACTIVE:
        return True
    if local_setup is Setup.PASSIVE:
        return False
    # We offered actpass: the answer decides.
    return remote_setup is Setup.PASSIVE


def with_candidates(description: SessionDescription, mid: str,
                    candidates: Iterable[Candidate], end: bool) -> SessionDescription:
    """A copy of ``description`` whose section ``mid`` lists ``candidates``."""
    copy = description.copy()
    media = copy.media_by_mid(mid)
    if media is not None:
        media.candidates = list(candidates)
        media.end_of_candidates = end
    return copy


def mids(description: SessionDescription) -> Sequence[str]:
    return [m.mid or str(i) for i, m in enumerate(description.media)]
