"""The embedded AWS: moto in server mode on loopback, with our gap patches.

Run by ``scripts/tap emulator start`` (never by hand): ``python -m
scripts.tapctl.emulator.server --port N``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.tapctl.emulator.server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args(argv)

    import os

    # moto's Step Functions interpreter calls the services it orchestrates over HTTP
    # on MOTO_PORT: this server.
    os.environ["MOTO_PORT"] = str(args.port)
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from scripts.tapctl.core import paths
    from scripts.tapctl.emulator import lambda_install, triggers
    from scripts.tapctl.emulator.apigateway import ApiGatewayInvoke
    from scripts.tapctl.emulator.patches import apply_all
    from scripts.tapctl.emulator.replay import RetryReplay

    applied = apply_all()
    executor = lambda_install.install(
        f"http://{args.host}:{args.port}", paths.workdir() / "lambda-cache", paths.ROOT
    )
    applied += ["lambda_executor", *triggers.install(), "apigateway_invoke"]
    # moto's ThreadedMotoServer, with SDK retries of completed calls answered by replay;
    # invoke-URL requests (API Gateway stages) are answered outside it: never replayed.
    app = ApiGatewayInvoke(RetryReplay(DomainDispatcherApplication(create_backend_app)))
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"emulator listening on http://{args.host}:{args.port} patches={applied}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    server.shutdown()
    thread.join()
    executor.pool.close()  # the warm Lambda runtimes
    return 0


if __name__ == "__main__":
    sys.exit(main())
