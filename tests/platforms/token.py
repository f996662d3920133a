#!/usr/bin/env python3
"""A ServiceAccount token shaped as the API server mints one (unsigned
signature bytes: `inspect` decodes, it does not verify), for smoke runs
of cross-built binaries."""
import base64, json, time

def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

now = int(time.time())
claims = {"iss": "https://kubernetes.default.svc", "sub": "system:serviceaccount:team:viewer",
          "aud": ["https://kubernetes.default.svc"], "iat": now, "nbf": now, "exp": now + 3600,
          "jti": "6f0c9f5e-1c2d-4a8e-9d3b-000000000001",
          "kubernetes.io": {"namespace": "team", "serviceaccount": {"name": "viewer", "uid": "u-1"}}}
print(b64({"alg": "RS256", "kid": "smoke"}) + "." + b64(claims) + "." + "c2lnbmF0dXJlLWJ5dGVz")
