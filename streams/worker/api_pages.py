"""Mounts alerts/ops/api.py on the faust web server under /api/v1 (beside the read-only state API): one view
class for its three resources, every method."""

from __future__ import annotations

from typing import Any

import faust
from faust.web import View

from alerts.ops.api import AlertsApi
from streams.views.state_api import BASE
from streams.worker.runtime import Runtime


def register_api(app: faust.App, runtime: Runtime) -> None:
    api = AlertsApi(runtime.alerts, runtime.settings.api_token)

    class AlertsApiView(View):
        async def _dispatch(self, request: Any) -> Any:
            body = await request.read() if request.can_read_body else b""
            path = request.path.removeprefix(BASE)
            answer = await api.handle(request.method, path, dict(request.headers), body, dict(request.query))
            response = self.json(answer.body, status=answer.status)
            for name, value in answer.headers:
                response.headers[name] = value
            return response

        async def get(self, request: Any, **kwargs: Any) -> Any:
            return await self._dispatch(request)

        async def post(self, request: Any, **kwargs: Any) -> Any:
            return await self._dispatch(request)

        async def delete(self, request: Any, **kwargs: Any) -> Any:
            return await self._dispatch(request)

    for resource in ("alerts", "silences", "failures"):
        view = type(f"Alerts{resource.title()}View", (AlertsApiView,), {})
        app.page(f"{BASE}/{resource}{{tail:(/.*)?}}", name=f"alerts_api_{resource}")(view)
