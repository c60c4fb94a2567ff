"""`uv run python -m playground`: the real bot against a local Telegram emulator, chatted
with in the browser at http://127.0.0.1:8765 (admin, friend and stranger to switch
between). A provider key in .env is used when set; otherwise a fake model answers."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


async def serve(host: str, port: int, force_fake: bool) -> None:
    from aiohttp import web

    from playground.bot import running_playground
    from playground.web import create_web_app

    async with running_playground(force_fake=force_fake) as playground:
        runner = web.AppRunner(create_web_app(playground))
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        print(f"playground: open http://{host}:{port} (Ctrl-C to stop)", flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m playground", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--fake", action="store_true", help="the fake model even with a key")
    args = parser.parse_args()
    from dotenv import load_dotenv

    load_dotenv(".env", override=False)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.port, args.fake))


if __name__ == "__main__":
    main()
