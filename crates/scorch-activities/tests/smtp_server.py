"""A real SMTP peer for the activities' tests (send_email, get_internet_application_status).

Usage: smtp_server.py FOLDER CERT KEY PLAIN_PORT STARTTLS_PORT TLS_PORT

Runs three aiosmtpd servers on 127.0.0.1: plain, STARTTLS (required before MAIL) and implicit
TLS (465-style), with the certificate and key given. Each accepts AUTH PLAIN and LOGIN for user
`mailer` with password `s3cret-pw` (anything else is rejected with 535). Each message is stored as
FOLDER/<n>.json: {"from", "to", "data", "user", "body", "body_type", "attachments": [{"filename",
"content_type", "hex"}]} (the body and attachments decoded by Python's email package), written before the 250 answer to DATA so that a
client that got its 250 finds the file. Prints `ready` once listening, and stops when its standard
input closes: the test process that started it has ended.
"""

import email
import email.policy
import itertools
import json
import os
import ssl
import sys
import threading

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = b"mailer", b"s3cret-pw"


class Store:
    def __init__(self, folder):
        self.folder = folder
        self.counter = itertools.count(1)
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            n = next(self.counter)
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = message.get_body(preferencelist=("html", "plain"))
        record = {
            "from": envelope.mail_from,
            "to": envelope.rcpt_tos,
            "data": envelope.original_content.decode("utf-8", "replace"),
            "user": session.auth_data.decode() if session.authenticated else None,
            "body": body.get_content() if body else None,
            "body_type": body.get_content_type() if body else None,
            "attachments": [
                {
                    "filename": part.get_filename(),
                    "content_type": part.get_content_type(),
                    "hex": part.get_payload(decode=True).hex(),
                }
                for part in message.iter_attachments()
            ],
        }
        path = os.path.join(self.folder, f"{n}.json")
        with open(path + ".part", "w") as f:
            json.dump(record, f)
        os.rename(path + ".part", path)
        return "250 OK stored"


def authenticate(server, session, envelope, mechanism, auth_data):
    if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (USER, PASSWORD):
        return AuthResult(success=True, auth_data=auth_data.login)
    return AuthResult(success=False, handled=False)


class ImplicitTls(Controller):
    """A controller whose readiness check speaks TLS without checking the self-signed certificate."""

    def _trigger_server(self):
        client = ssl.create_default_context()
        client.check_hostname = False
        client.verify_mode = ssl.CERT_NONE
        import socket

        with socket.create_connection((self.hostname, self.port), timeout=self.ready_timeout) as raw:
            with client.wrap_socket(raw) as s:
                s.recv(1024)


def main():
    folder, cert, key, plain, starttls, implicit = sys.argv[1:7]
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    store = Store(folder)
    common = dict(hostname="127.0.0.1", authenticator=authenticate, data_size_limit=64 * 1024 * 1024)
    servers = [
        Controller(store, port=int(plain), auth_require_tls=False, **common),
        Controller(store, port=int(starttls), tls_context=tls, require_starttls=True, **common),
        ImplicitTls(store, port=int(implicit), ssl_context=tls, auth_require_tls=False, **common),
    ]
    for server in servers:
        server.start()
    print("ready", flush=True)
    sys.stdin.read()
    for server in servers:
        server.stop()


if __name__ == "__main__":
    main()
