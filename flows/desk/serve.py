"""`ipfund desk`: uvicorn on the configured database (no Prefect on this path)."""

from __future__ import annotations


def serve(host: str = "127.0.0.1", port: int = 8080, log_level: str = "info") -> None:
    import uvicorn

    from flows.desk.web import create_app
    from models.db import database_url

    app = create_app()
    import threading

    from flows.desk.dashboard import warm

    if app.state.settings.dashboard_seconds:  # the screen's figures ready before the first user asks
        threading.Thread(target=warm, args=(app,), daemon=True).start()
    from flows.cli.output import masked_url

    print(f"ipfund desk on http://{host}:{port}/ (database {masked_url(database_url())}); sign in at /login",
          flush=True)
    uvicorn.run(app, host=host, port=port, log_level=log_level, proxy_headers=True)
