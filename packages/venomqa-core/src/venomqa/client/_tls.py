"""TLS settings of the client: which certificates it trusts and which one it presents.

``verify`` is True (trust the system's CAs, the default), False (trust anything: for local test
servers only) or the path of a CA bundle (PEM) to trust instead. ``cert`` is the path of a PEM
file holding the client certificate and its key, or a ``(certificate, key)`` pair of paths.
Problems (a missing file, a file that is not PEM) are a UsageError naming the file.
"""

from __future__ import annotations

import ssl

from venomqa.errors import UsageError

ClientCert = str | tuple[str, str]


def ssl_context(verify: bool | str = True, cert: ClientCert | None = None) -> ssl.SSLContext | bool:
    """What httpx's ``verify`` takes for these settings: the plain bool when nothing else is
    asked for, else an SSLContext trusting ``verify`` and presenting ``cert``."""
    if cert is None and isinstance(verify, bool):
        return verify
    cafile = verify if isinstance(verify, str) else None
    try:
        context = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"TLS verify: cannot load the CA bundle {cafile}: {exc}") from exc
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert is not None:
        certfile, keyfile = (cert, None) if isinstance(cert, str) else cert
        try:
            context.load_cert_chain(certfile, keyfile)
        except (OSError, ssl.SSLError) as exc:
            shown = certfile if keyfile is None else f"{certfile} (key {keyfile})"
            raise UsageError(
                f"TLS cert: cannot load the client certificate {shown}: {exc}"
            ) from exc
    return context


__all__ = ["ClientCert", "ssl_context"]
