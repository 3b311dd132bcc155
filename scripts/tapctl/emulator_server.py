"""The embedded AWS: moto in server mode on loopback, with our gap patches.

Run by ``scripts/tap emulator start`` (never by hand): ``python -m
scripts.tapctl.emulator_server --port N``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="emulator_server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)

    from moto.server import ThreadedMotoServer

    from scripts.tapctl.emulator_patches import apply_all

    applied = apply_all()
    server = ThreadedMotoServer(ip_address=args.host, port=args.port, verbose=False)
    server.start()
    print(f"emulator listening on http://{args.host}:{args.port} patches={applied}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
