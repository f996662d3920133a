#!/usr/bin/env python3
"""An impostor API server for binding tests: HTTPS on 127.0.0.1 with a
self-signed certificate nobody trusts, answering 401 to everything and
appending every request's line and Authorization header (or "-") to a log.
Usage: impostor.py CERT KEY LOG PORTFILE. Writes its port to PORTFILE once it
listens; stops when its stdin closes."""
import http.server
import ssl
import sys
import threading

cert, key, log, portfile = sys.argv[1:5]


class Handler(http.server.BaseHTTPRequestHandler):
    def handle_any(self):
        with open(log, "a") as f:
            f.write(f"{self.command} {self.path} {self.headers.get('Authorization', '-')}\n")
        body = b'{"kind":"Status","apiVersion":"v1","status":"Failure","code":401}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = handle_any

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(portfile + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os

os.rename(portfile + ".tmp", portfile)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
server.shutdown()
