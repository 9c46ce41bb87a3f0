#!/usr/bin/env python3
"""A real SMTP server for the tests (aiosmtpd), listening on 127.0.0.1 only.

Every accepted message is written to DIR as N.json (envelope, headers, decoded text and HTML
parts) next to N.eml (the raw bytes), N counting from 1; the .json appears last and atomically,
so a reader that sees it sees a complete message.

Some recipients make the server answer like a real one that refuses:
  reject550@...   -> 550 5.1.1 mailbox unavailable (permanent)
  tempfail451@... -> 451 4.3.0 try again later (transient)

Usage: smtp_sink.py DIR [--tls none|starttls|tls] [--user NAME --password PW]
With starttls or tls, a test CA and a server certificate for 127.0.0.1 and localhost are made
with the openssl command into DIR (ca.pem is what a client trusts).
Prints "READY <port>" on standard output once it accepts connections; stops on SIGTERM or
when standard input closes (the test that started it went away).
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import signal
import ssl
import subprocess
import sys

from aiosmtpd.smtp import SMTP, AuthResult


def make_certificates(directory):
    """A CA (ca.pem) and a server certificate it signed (server.pem, server.key)."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, cwd=directory, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=nanopost test CA",
        "-keyout", "ca.key", "-out", "ca.pem",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr")
    with open(os.path.join(directory, "server.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "extendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-out", "server.pem", "-extfile", "server.ext")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(os.path.join(directory, "server.pem"), os.path.join(directory, "server.key"))
    return ctx


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@", 1)[0].lower()
        if local == "reject550":
            return "550 5.1.1 mailbox unavailable"
        if local == "tempfail451":
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        n = self.count
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text = html = None
        for part in message.walk():
            if part.is_multipart():
                continue
            kind = part.get_content_type()
            if kind == "text/plain" and text is None:
                text = part.get_content().replace("\r\n", "\n")
            elif kind == "text/html" and html is None:
                html = part.get_content().replace("\r\n", "\n")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "auth": session.auth_data if session.authenticated else None,
            "tls": session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None,
            # Raw (unfolded, undecoded) header values, in order.
            "headers": [[k, str(v)] for k, v in message.items()],
            "text": text,
            "html": html,
        }
        with open(os.path.join(self.directory, f"{n}.eml"), "wb") as f:
            f.write(raw)
        tmp = os.path.join(self.directory, f".{n}.json.tmp")
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.directory, f"{n}.json"))
        return "250 Message accepted"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--tls", choices=["none", "starttls", "tls"], default="none")
    parser.add_argument("--user")
    parser.add_argument("--password")
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    handler = Sink(args.dir)
    ctx = make_certificates(args.dir) if args.tls != "none" else None

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (args.user is not None and auth_data.login.decode() == args.user
              and auth_data.password.decode() == args.password)
        # aiosmtpd keeps auth_data on the session: the login, never the password.
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login.decode() if ok else None)

    def factory():
        kwargs = dict(hostname="sink.test", ident="nanopost test sink")
        if args.user is not None:
            kwargs.update(authenticator=authenticator, auth_require_tls=False, auth_required=True)
        if args.tls == "starttls":
            kwargs.update(tls_context=ctx, require_starttls=True)
        return SMTP(handler, **kwargs)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(factory, host="127.0.0.1", port=0, ssl=ctx if args.tls == "tls" else None))
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)

    stop = loop.create_future()
    loop.add_signal_handler(signal.SIGTERM, lambda: stop.done() or stop.set_result(None))
    # The parent's end of our stdin closes when it exits, even if it could not kill us.
    loop.add_reader(sys.stdin.fileno(), lambda: sys.stdin.buffer.read1(1024) or (stop.done() or stop.set_result(None)))
    loop.run_until_complete(stop)
    server.close()


if __name__ == "__main__":
    main()
