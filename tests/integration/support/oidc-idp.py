#!/usr/bin/env python3
"""A stand-in OpenID Connect provider for the Vault OIDC login test: the
real Vault (OpenBao) talks to it as to any IdP, and a person's browser is a
script that follows its redirect. It signs in whoever comes as `alice`.

    oidc-idp.py DIR

Listens on a free loopback port, writes its URL to DIR/url once it serves,
keeps its RSA key in DIR (made with openssl) and logs each request to
stderr. Endpoints: discovery, JWKS, authorize (remembers the nonce, sends
the browser to redirect_uri with a code), token (an ID token signed RS256
with openssl, for that nonce). Python's standard library and the openssl
command only.
"""

import base64
import http.server
import json
import os
import subprocess
import sys
import time
import urllib.parse

DIR = sys.argv[1]
KEY = os.path.join(DIR, "idp-key.pem")
CLIENT_ID = "kube-sa-token-e2e"
subprocess.run(
    ["openssl", "genrsa", "-out", KEY, "2048"], check=True, capture_output=True
)
modulus = subprocess.run(
    ["openssl", "rsa", "-in", KEY, "-noout", "-modulus"],
    check=True,
    capture_output=True,
    text=True,
).stdout.strip().split("=", 1)[1]


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JWK = {
    "kty": "RSA",
    "alg": "RS256",
    "use": "sig",
    "kid": "e2e",
    "n": b64(bytes.fromhex(modulus)),
    "e": b64((65537).to_bytes(3, "big")),
}
# code -> nonce, from the authorize request to the token request.
CODES = {}


def sign(claims):
    head = b64(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "e2e"}).encode())
    body = b64(json.dumps(claims).encode())
    signed = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", KEY],
        input=f"{head}.{body}".encode(),
        check=True,
        capture_output=True,
    ).stdout
    return f"{head}.{body}.{b64(signed)}"


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self, code, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(code)
        if not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json")
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        issuer = self.server.issuer
        if url.path == "/.well-known/openid-configuration":
            self.answer(
                200,
                {
                    "issuer": issuer,
                    "authorization_endpoint": issuer + "/authorize",
                    "token_endpoint": issuer + "/token",
                    "jwks_uri": issuer + "/jwks",
                    "response_types_supported": ["code"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                },
            )
        elif url.path == "/jwks":
            self.answer(200, {"keys": [JWK]})
        elif url.path == "/authorize":
            code = b64(os.urandom(12))
            CODES[code] = q.get("nonce", "")
            target = q["redirect_uri"] + "?" + urllib.parse.urlencode(
                {"code": code, "state": q.get("state", "")}
            )
            self.answer(302, b"", [("Location", target)])
        else:
            self.answer(404, {"error": "not_found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
        if self.path != "/token" or form.get("code") not in CODES:
            self.answer(400, {"error": "invalid_grant"})
            return
        now = int(time.time())
        claims = {
            "iss": self.server.issuer,
            "sub": "alice",
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": CODES.pop(form["code"]),
        }
        self.answer(
            200,
            {
                "access_token": b64(os.urandom(12)),
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": sign(claims),
            },
        )


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.issuer = f"http://127.0.0.1:{server.server_address[1]}"
with open(os.path.join(DIR, "url.tmp"), "w") as f:
    f.write(server.issuer)
os.rename(os.path.join(DIR, "url.tmp"), os.path.join(DIR, "url"))
server.serve_forever()
