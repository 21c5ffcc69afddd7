"""Home Assistant REST backend for the smart_home tools (used when HASS_URL and HASS_TOKEN are set).

Reads `GET /api/states` and calls services (`POST /api/services/<domain>/<service>`) with a
long-lived access token. Entities of the light, switch, lock and climate domains become devices.
The token is read from the environment for each request and never appears in outputs or errors.
"""

from __future__ import annotations

import os
from typing import Any

from plangate.tools import http
from plangate.tools.errors import ToolError

KINDS = {"light": "light", "switch": "plug", "lock": "lock", "climate": "thermostat"}
SERVICE = "Home Assistant"


class HomeAssistant:
    """Devices from a Home Assistant server."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.where = f"Home Assistant at {http.host_of(self.url)}"

    @classmethod
    def from_env(cls) -> HomeAssistant | None:
        url, token = os.environ.get("HASS_URL", "").strip(), os.environ.get("HASS_TOKEN", "").strip()
        return cls(url, token) if url and token else None

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = http.request(method, f"{self.url}{path}", service=SERVICE, hint="check the network connection, HASS_URL and HASS_TOKEN",
                                headers={"Authorization": f"Bearer {self._token}"}, **kwargs)
        return http.json_body(response, service=SERVICE)

    def devices(self) -> list[dict[str, Any]]:
        states = self._call("GET", "/api/states")
        if not isinstance(states, list):
            raise ToolError(f"{SERVICE} sent an unexpected /api/states body")
        return sorted((device_from(s) for s in states if s.get("entity_id", "").split(".")[0] in KINDS),
                      key=lambda d: (d["kind"], d["id"]))

    def apply(self, device: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        for domain, service, data in service_calls(device, change):
            self._call("POST", f"/api/services/{domain}/{service}", json={"entity_id": device["id"], **data})
        return device_from(self._call("GET", f"/api/states/{device['id']}"))


def device_from(entity: dict[str, Any]) -> dict[str, Any]:
    """A plangate device dict from a Home Assistant state object."""
    entity_id = entity["entity_id"]
    domain = entity_id.split(".")[0]
    attrs = entity.get("attributes") or {}
    raw = entity.get("state")
    kind = KINDS[domain]
    if kind == "lock":
        state: dict[str, Any] = {"locked": raw == "locked"}
    elif kind == "thermostat":
        state = {"mode": "off" if raw == "off" else "heat", "target_c": attrs.get("temperature"),
                 "current_c": attrs.get("current_temperature")}
    elif kind == "light":
        brightness = attrs.get("brightness")
        state = {"on": raw == "on", "brightness": round(int(brightness) * 100 / 255) if brightness is not None else 100}
    else:
        state = {"on": raw == "on"}
    return {"id": entity_id, "name": attrs.get("friendly_name") or entity_id, "kind": kind, "room": None, "state": state}


def service_calls(device: dict[str, Any], change: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """The Home Assistant service calls that make `change` happen on `device`."""
    domain = device["id"].split(".")[0]
    if domain == "lock":
        return [("lock", "lock" if change["locked"] else "unlock", {})]
    if domain == "climate":
        calls = [("climate", "set_hvac_mode", {"hvac_mode": change["mode"]})] if "mode" in change else []
        if "target_c" in change:
            calls.append(("climate", "set_temperature", {"temperature": change["target_c"]}))
        return calls
    if domain == "light" and change.get("on") and "brightness" in change:
        return [("light", "turn_on", {"brightness_pct": change["brightness"]})]
    return [(domain, "turn_on" if change.get("on") else "turn_off", {})]
