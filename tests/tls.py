"""A throwaway certificate authority for the secured-broker tests: made per session, never committed.

``TestCA(folder)`` writes a CA certificate; ``issue`` signs a leaf for a broker
(``server=True``: valid for 127.0.0.1 and localhost) or a client (mutual TLS).
Every file is PEM, which both sides read as they are: Kafka's ``PEM`` key and
trust stores, and Python's ``ssl``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    """One leaf: its certificate chain, its private key, and both in one file (a PEM key store)."""

    chain: Path  # the leaf, then the CA
    key: Path  # PKCS#8; encrypted with ``password`` when there is one
    password: str | None
    keystore: Path  # key, then chain: Kafka's ``ssl.keystore.type=PEM``


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey, password: str | None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


class TestCA:
    """A CA whose certificate is ``self.cert`` (give it to clients as ``ssl_cafile``)."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, folder: Path, name: str = "Wirewatch test CA") -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._key = _key()
        now = dt.datetime.now(dt.UTC)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self._key, hashes.SHA256())
        )
        self.cert = folder / "ca.pem"
        self.cert.write_bytes(self._cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, common_name: str, *, server: bool = False, password: str | None = None) -> Issued:
        """A leaf certificate for ``common_name``; its principal in Kafka is ``User:CN=<common_name>``."""
        key = _key()
        now = dt.datetime.now(dt.UTC)
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] + ([ExtendedKeyUsageOID.SERVER_AUTH] if server else [])
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = builder.sign(self._key, hashes.SHA256())
        chain = cert.public_bytes(serialization.Encoding.PEM) + self._cert.public_bytes(
            serialization.Encoding.PEM
        )
        stem = self.folder / common_name
        files = Issued(
            chain=stem.with_suffix(".chain.pem"),
            key=stem.with_suffix(".key.pem"),
            password=password,
            keystore=stem.with_suffix(".keystore.pem"),
        )
        files.chain.write_bytes(chain)
        files.key.write_bytes(_pem_key(key, password))
        files.keystore.write_bytes(_pem_key(key, password) + chain)
        for path in (files.key, files.keystore):
            path.chmod(0o600)
        return files
