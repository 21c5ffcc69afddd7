"""Smart home: the simulated home in the Store, and the Home Assistant backend against a local fake server."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from plangate.tools import smart_home
from plangate.tools.errors import RetryableToolError, ToolError
from plangate.tools.registry import build_registry


def devices():
    return {d["id"]: d for d in smart_home.list_devices.invoke({})["devices"]}


def test_a_default_home_is_created_on_first_use():
    home = devices()
    assert {"kitchen_light", "thermostat", "front_door", "coffee_maker"} <= set(home)
    assert home["front_door"]["state"] == {"locked": True}
    assert smart_home.get_device.invoke({"device": "front door"})["message"] == "Front door lock is locked."


def test_set_lights_thermostat_locks_and_plugs():
    out = smart_home.set_device.invoke({"device": "kitchen lights", "state": "on"})
    assert out["message"] == "Kitchen light is on at 100%."
    smart_home.set_device.invoke({"device": "living room light", "state": "30%"})
    smart_home.set_device.invoke({"device": "thermostat", "state": "21 degrees"})
    smart_home.set_device.invoke({"device": "back door", "state": "unlock"})
    smart_home.set_device.invoke({"device": "coffee maker", "state": "on"})
    home = devices()
    assert home["kitchen_light"]["state"]["on"] is True
    assert home["living_room_light"]["state"] == {"on": True, "brightness": 30}
    assert home["thermostat"]["state"]["target_c"] == 21.0
    assert home["back_door"]["state"]["locked"] is False and home["front_door"]["state"]["locked"] is True
    assert home["coffee_maker"]["state"]["on"] is True


def test_plural_names_act_on_every_match_and_singular_ambiguity_is_refused():
    smart_home.set_device.invoke({"device": "all lights", "state": "on"})
    assert all(d["state"]["on"] for d in devices().values() if d["kind"] == "light")
    smart_home.set_device.invoke({"device": "lights", "state": "off"})
    assert not any(d["state"]["on"] for d in devices().values() if d["kind"] == "light")
    with pytest.raises(ToolError, match="matches 3 devices"):
        smart_home.set_device.invoke({"device": "light", "state": "on"})


@pytest.mark.parametrize(("device", "state", "error"), [
    ("front door", "on", "use state 'lock' or 'unlock'"),
    ("thermostat", "45", "target temperature 5-30"),
    ("kitchen light", "150%", "brightness 0-100"),
    ("garage door", "lock", "no device called 'garage door'"),
    ("kitchen lite", "on", "did you mean Kitchen light"),
])
def test_invalid_states_and_unknown_devices_change_nothing(device, state, error):
    before = devices()
    with pytest.raises(ToolError, match=error):
        smart_home.set_device.invoke({"device": device, "state": state})
    assert devices() == before


def test_invalid_arguments_and_metadata():
    with pytest.raises(ValidationError):
        smart_home.set_device.invoke({"device": "thermostat"})
    registry = build_registry()
    assert registry.has_side_effects("smart_home.set_device")
    assert not registry.has_side_effects("smart_home.get_device")
    with pytest.raises(ToolError, match="unknown device kind"):
        smart_home.list_devices.invoke({"kind": "toaster"})
    assert [d["id"] for d in smart_home.list_devices.invoke({"kind": "locks"})["devices"]] == ["back_door", "front_door"]


def test_each_user_has_their_own_home(monkeypatch):
    smart_home.set_device.invoke({"device": "front door", "state": "unlock"})
    monkeypatch.setenv("PLANGATE_USER_ID", "guest")
    assert devices()["front_door"]["state"]["locked"] is True


class FakeHass:
    """Just enough of Home Assistant's REST API: /api/states, /api/states/<id>, /api/services/<domain>/<service>."""

    TOKEN = "secret-token-123"

    def __init__(self) -> None:
        self.states = {
            "light.kitchen_ceiling": {"entity_id": "light.kitchen_ceiling", "state": "off",
                                      "attributes": {"friendly_name": "Kitchen ceiling", "brightness": None}},
            "lock.front_door": {"entity_id": "lock.front_door", "state": "locked",
                                "attributes": {"friendly_name": "Front door"}},
            "climate.hall": {"entity_id": "climate.hall", "state": "heat",
                             "attributes": {"friendly_name": "Hall thermostat", "temperature": 19, "current_temperature": 18.5}},
            "sensor.outside": {"entity_id": "sensor.outside", "state": "7", "attributes": {"friendly_name": "Outside"}},
        }
        self.calls: list[tuple[str, dict]] = []
        self.fail_with: int | None = None

    def __call__(self, method, path, headers, body):
        if headers.get("authorization") != f"Bearer {self.TOKEN}":
            return 401, {"message": "Invalid authentication"}
        if self.fail_with:
            return self.fail_with, {"message": "internal error"}
        if method == "GET" and path == "/api/states":
            return 200, list(self.states.values())
        if method == "GET" and path.startswith("/api/states/"):
            return 200, self.states[path.rsplit("/", 1)[1]]
        if method == "POST" and path.startswith("/api/services/"):
            service = path.removeprefix("/api/services/").replace("/", ".")
            self.calls.append((service, body))
            entity = self.states[body["entity_id"]]
            if service == "light.turn_on":
                entity["state"] = "on"
                entity["attributes"]["brightness"] = round(body.get("brightness_pct", 100) * 255 / 100)
            elif service in ("lock.lock", "lock.unlock"):
                entity["state"] = "locked" if service == "lock.lock" else "unlocked"
            elif service == "climate.set_temperature":
                entity["attributes"]["temperature"] = body["temperature"]
            return 200, [entity]
        return 404, {"message": "not found"}


@pytest.fixture
def hass(http_server, monkeypatch):
    fake = FakeHass()
    server = http_server(fake)
    monkeypatch.setenv("HASS_URL", server.url)
    monkeypatch.setenv("HASS_TOKEN", FakeHass.TOKEN)
    return fake, server


def test_home_assistant_backend_lists_and_controls_entities(hass):
    fake, server = hass
    listed = smart_home.list_devices.invoke({})
    assert listed["backend"].startswith("Home Assistant at http://127.0.0.1:")
    assert {d["id"] for d in listed["devices"]} == {"light.kitchen_ceiling", "lock.front_door", "climate.hall"}
    out = smart_home.set_device.invoke({"device": "kitchen light", "state": "40%"})
    assert fake.calls[-1] == ("light.turn_on", {"entity_id": "light.kitchen_ceiling", "brightness_pct": 40})
    assert out["message"] == "Kitchen ceiling is on at 40%."
    smart_home.set_device.invoke({"device": "front door", "state": "unlock"})
    assert fake.calls[-1] == ("lock.unlock", {"entity_id": "lock.front_door"})
    smart_home.set_device.invoke({"device": "thermostat", "state": "21"})
    assert ("climate.set_temperature", {"entity_id": "climate.hall", "temperature": 21.0}) in fake.calls
    assert all(r["headers"]["authorization"] == f"Bearer {FakeHass.TOKEN}" for r in server.requests)


def test_home_assistant_errors_are_classified_and_never_show_the_token(hass, monkeypatch):
    fake, _ = hass
    fake.fail_with = 500
    with pytest.raises(RetryableToolError, match="HTTP 500") as err:
        smart_home.list_devices.invoke({})
    assert FakeHass.TOKEN not in str(err.value)
    fake.fail_with = None
    monkeypatch.setenv("HASS_TOKEN", "wrong")
    with pytest.raises(ToolError, match="HTTP 401") as err:
        smart_home.set_device.invoke({"device": "front door", "state": "unlock"})
    assert not err.value.retryable and "wrong" not in str(err.value)
    assert fake.states["lock.front_door"]["state"] == "locked"


def test_home_assistant_down_is_retryable(monkeypatch, closed_port_url):
    monkeypatch.setenv("HASS_URL", closed_port_url)
    monkeypatch.setenv("HASS_TOKEN", "t")
    with pytest.raises(RetryableToolError, match="couldn't reach Home Assistant"):
        smart_home.get_device.invoke({"device": "front door"})
