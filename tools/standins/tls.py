"""A throwaway local certificate authority for the stand-ins.

`make_local_ca(directory)` writes a CA and a server certificate for 127.0.0.1 / localhost and the
providers' host names (so that, behind the CONNECT proxy stand-in, a transport configured with the
real names reaches the stand-ins and checks their certificate as it would Google's or Apple's);
`issue_client_certificate` makes an APNs-style client certificate (its subject UID is the topic).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PROVIDER_HOSTS = ("fcm.googleapis.com", "oauth2.googleapis.com", "api.push.apple.com", "api.sandbox.push.apple.com")


@dataclass(frozen=True)
class LocalCa:
    directory: Path
    ca_file: Path
    ca_key_file: Path
    server_cert_file: Path
    server_key_file: Path


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _cert(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    signing_key: ec.EllipticCurvePrivateKey,
    *,
    ca: bool,
    extensions: list[x509.ExtensionType] | None = None,
) -> x509.Certificate:
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    for extension in extensions or []:
        builder = builder.add_extension(extension, critical=False)
    return builder.sign(signing_key, hashes.SHA256())


def make_local_ca(directory: Path) -> LocalCa:
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Vila local stand-in CA")])
    ca_cert = _cert(ca_name, ca_name, ca_key.public_key(), ca_key, ca=True)

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _cert(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]),
        ca_name,
        server_key.public_key(),
        ca_key,
        ca=False,
        extensions=[
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    *(x509.DNSName(name) for name in PROVIDER_HOSTS),
                ]
            ),
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
        ],
    )
    result = LocalCa(
        directory=directory,
        ca_file=directory / "ca.pem",
        ca_key_file=directory / "ca-key.pem",
        server_cert_file=directory / "server.pem",
        server_key_file=directory / "server-key.pem",
    )
    result.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    _write_key(ca_key, result.ca_key_file)
    result.server_cert_file.write_bytes(
        server_cert.public_bytes(serialization.Encoding.PEM) + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    _write_key(server_key, result.server_key_file)
    return result


def issue_client_certificate(ca: LocalCa, topic: str, path: Path) -> Path:
    """A PEM file with an APNs-style client certificate and its key, signed by the local CA."""
    ca_cert = x509.load_pem_x509_certificate(ca.ca_file.read_bytes())
    ca_key = serialization.load_pem_private_key(ca.ca_key_file.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError("the local CA key is an EC key")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(
        x509.Name(
            [
                x509.NameAttribute(NameOID.USER_ID, topic),
                x509.NameAttribute(NameOID.COMMON_NAME, f"Apple Push Services: {topic}"),
            ]
        ),
        ca_cert.subject,
        key.public_key(),
        ca_key,
        ca=False,
        extensions=[x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])],
    )
    path.write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return path


def make_p8_key(path: Path) -> Path:
    """An APNs-style .p8 signing key (EC P-256, PKCS#8)."""
    _write_key(ec.generate_private_key(ec.SECP256R1()), path)
    return path
