"""A Microsoft Entra ID tenant for tests: RSA signing keys made here, tokens minted with PyJWT,
and the tenant's OpenID configuration and JWKS served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

TENANT = "0d3c6a1e-5b2f-4e8a-9c71-3f6b2d8e4a10"
V1_ISSUER = f"https://sts.windows.net/{TENANT}/"
V2_ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"


@dataclass(frozen=True)
class Signer:
    """One RSA signing key as Entra ID publishes it."""

    kid: str
    private_key: rsa.RSAPrivateKey

    @property
    def jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig"}

    @property
    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims, self.private_key, algorithm="RS256", headers={"kid": self.kid, **header}
        )


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def signers() -> tuple[Signer, Signer, Signer]:
    """The current key, the next one (after rotation), and a key nobody publishes."""
    return Signer("key-a", _rsa()), Signer("key-b", _rsa()), Signer("key-x", _rsa())


class OpenIdServer:
    """A tenant's OpenID configuration and JWKS over real HTTP, counting each fetch."""

    def __init__(self) -> None:
        self.jwks: list[dict[str, Any]] = []
        self.status = 200  # anything else: the endpoint is down
        self.config_override: dict[str, Any] | None = None
        self.jwks_fetches = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if server.status != 200:
                    self._reply(server.status, b"{}")
                elif self.path == f"/{TENANT}/v2.0/.well-known/openid-configuration":
                    config = server.config_override or {
                        "issuer": V2_ISSUER,
                        "jwks_uri": f"{server.url}/{TENANT}/discovery/v2.0/keys",
                    }
                    self._reply(200, json.dumps(config).encode())
                elif self.path == f"/{TENANT}/discovery/v2.0/keys":
                    server.jwks_fetches += 1
                    self._reply(200, json.dumps({"keys": server.jwks}).encode())
                else:
                    self._reply(404, b"{}")

            def _reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.01,), daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()


@pytest.fixture
def idp(signers: tuple[Signer, Signer, Signer]) -> Iterator[OpenIdServer]:
    """The tenant's endpoints, publishing key A."""
    server = OpenIdServer()
    server.jwks = [signers[0].jwk]
    yield server
    server.close()


def edited(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """`base` with `changes` applied; a change to `...` deletes the claim."""
    claims = dict(base)
    for name, value in changes.items():
        if value is ...:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims
