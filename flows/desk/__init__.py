"""The web desk (`ipfund desk`): a thin adapter over the services.

Server-rendered pages (Jinja2, ``templates/desk/``) with htmx partial updates, served by uvicorn. No route
holds a business rule, permission or duty: every act goes through the same service function and unit of
work as the CLI (flows/services, models/uow.py), and refusals come from the services (rules/roles.py,
rules/duties.py). Modules: ``web`` (the app factory and error pages), ``auth`` (the signed-in user, the
session cookie and CSRF), ``i18n`` (zh_CN and English catalogs, dates in Asia/Shanghai), ``review`` and
``audit`` (the routes by role), ``serve`` (uvicorn).
"""
