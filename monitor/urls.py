"""Canonical article URLs: the same story reached through different links gets one id.

Only what cannot change the page is removed: tracking parameters (``utm_*``,
``at_*``, ``fbclid``, ``gclid`` …), the fragment, default ports, and the case
of scheme and host. Everything else (path case, the order of the remaining
parameters) is kept exactly, so canonicalization is idempotent and never
merges two different pages.
"""

from __future__ import annotations

from urllib.parse import unquote_plus, urlsplit, urlunsplit

TRACKING_PREFIXES = ("utm_", "at_", "ga_", "pk_", "mtm_", "hsa_")
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "wickedid",
        "rb_clickid",
        "s_cid",
        "ocid",
        "cmpid",
        "cmp",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "ito",
        "xtor",
        "ref_src",
        "ref_url",
        "smid",
        "sr_share",
        "taid",
        "__twitter_impression",
    }
)
DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The URL without tracking parameters and fragment, scheme and host lowercased."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url  # not parseable as a URL: leave it alone, the id falls back to it verbatim
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not scheme or not host:
        return url.split("#", 1)[0].strip()  # strip again: "0 #" would keep its space
    netloc = host
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]"
    if port is not None and DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{netloc}:{port}"
    if parts.username or parts.password:
        userinfo = parts.username or ""
        if parts.password:
            userinfo += f":{parts.password}"
        netloc = f"{userinfo}@{netloc}"
    # filter the raw segments so the kept parameters stay byte-for-byte as they were
    segments = parts.query.split("&") if parts.query else []
    query = "&".join(s for s in segments if not is_tracking_param(unquote_plus(s.split("=", 1)[0])))
    path = parts.path or ("/" if scheme in DEFAULT_PORTS else "")
    return urlunsplit((scheme, netloc, path, query, ""))
