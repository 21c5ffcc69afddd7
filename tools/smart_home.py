"""Smart home: lights, thermostat, locks and plugs; list, get and set.

Devices live in the Store per user (a sensible default home is created on first use), or in Home
Assistant when `HASS_URL` and `HASS_TOKEN` are set (see tools/home_assistant.py). `set_device` has
side effects, so `approve_side_effects` pauses before it.
"""

from __future__ import annotations

import copy
import difflib
import re
import threading
from typing import Any, Protocol

from langchain_core.tools import tool
from pydantic import BaseModel, Field

from plangate.tools import runtime
from plangate.tools.errors import ToolError
from plangate.tools.metadata import describe_tool

ALIASES = {
    "light": {"light", "lights", "lamp", "lamps", "lighting"},
    "thermostat": {"thermostat", "heating", "heater", "heat", "temperature", "climate"},
    "lock": {"lock", "locks", "door", "doors"},
    "plug": {"plug", "plugs", "socket", "outlet", "switch"},
}
DEFAULT_HOME: list[dict[str, Any]] = [
    {"id": "kitchen_light", "name": "Kitchen light", "kind": "light", "room": "kitchen", "state": {"on": False, "brightness": 100}},
    {"id": "living_room_light", "name": "Living room light", "kind": "light", "room": "living room",
     "state": {"on": False, "brightness": 100}},
    {"id": "bedroom_light", "name": "Bedroom light", "kind": "light", "room": "bedroom", "state": {"on": False, "brightness": 100}},
    {"id": "thermostat", "name": "Thermostat", "kind": "thermostat", "room": "living room",
     "state": {"mode": "heat", "target_c": 20.0, "current_c": 19.5}},
    {"id": "front_door", "name": "Front door lock", "kind": "lock", "room": "hall", "state": {"locked": True}},
    {"id": "back_door", "name": "Back door lock", "kind": "lock", "room": "garden", "state": {"locked": True}},
    {"id": "coffee_maker", "name": "Coffee maker plug", "kind": "plug", "room": "kitchen", "state": {"on": False}},
    {"id": "fan", "name": "Bedroom fan plug", "kind": "plug", "room": "bedroom", "state": {"on": False}},
]
THERMOSTAT_RANGE_C = (5.0, 30.0)
_STOP = {"the", "my", "all", "a", "an", "of", "in", "on", "at", "every", "both"}
_write_lock = threading.Lock()


class Backend(Protocol):
    where: str

    def devices(self) -> list[dict[str, Any]]: ...

    def apply(self, device: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]: ...


class StoreHome:
    """Devices kept in the LangGraph Store, one item per device; a default home on first use."""

    where = "simulated home"

    def _ns(self) -> tuple[str, ...]:
        return runtime.namespace("home")

    def devices(self) -> list[dict[str, Any]]:
        with _write_lock:
            found = runtime.all_values(self._ns())
            if not found:
                for device in DEFAULT_HOME:
                    runtime.current_store().put(self._ns(), device["id"], copy.deepcopy(device))
                found = copy.deepcopy(DEFAULT_HOME)
        return sorted(found, key=lambda d: (d["kind"], d["id"]))

    def apply(self, device: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
        with _write_lock:
            item = runtime.current_store().get(self._ns(), device["id"])
            current = item.value if item else device
            updated = {**current, "state": {**current["state"], **change}}
            runtime.current_store().put(self._ns(), device["id"], updated)
        return updated


def backend() -> Backend:
    """Home Assistant when HASS_URL and HASS_TOKEN are set, else the simulated home in the Store."""
    from plangate.tools.home_assistant import HomeAssistant

    return HomeAssistant.from_env() or StoreHome()


def _tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+", text.lower().replace("_", " "))
    return [w for w in words if w not in _STOP]


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _device_words(device: dict[str, Any]) -> set[str]:
    words = set(_tokens(f"{device['id']} {device['name']} {device.get('room') or ''}"))
    words |= ALIASES.get(device["kind"], set()) | {device["kind"]}
    return {_singular(w) for w in words} | words


def find_devices(devices: list[dict[str, Any]], phrase: str) -> list[dict[str, Any]]:
    """Devices named by `phrase` ("kitchen lights", "front door", "thermostat"); plurals and 'all' mean every match."""
    exact = [d for d in devices if d["id"] == phrase.strip()]
    if exact:
        return exact
    words = [_singular(w) for w in _tokens(phrase)]
    if not words:
        raise ToolError("name a device, e.g. 'kitchen light' or 'front door'")
    matches = [d for d in devices if all(w in _device_words(d) for w in words)]
    plural = bool(re.search(r"\b(all|every|both)\b", phrase.lower())) or any(
        w.endswith("s") and _singular(w) != w for w in _tokens(phrase))
    if len(matches) > 1 and not plural:
        exact_name = [d for d in matches if d["name"].lower() == phrase.lower().strip()]
        if len(exact_name) == 1:
            return exact_name
        names = ", ".join(d["name"] for d in matches)
        raise ToolError(f"{phrase!r} matches {len(matches)} devices ({names}); say which one, or 'all {phrase}'")
    if not matches:
        names = [d["name"] for d in devices]
        close = difflib.get_close_matches(phrase, names, n=2, cutoff=0.5)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise ToolError(f"no device called {phrase!r}{hint} Devices: {', '.join(names)}")
    return matches


def _number(raw: str) -> float | None:
    found = re.fullmatch(r"\s*(?:to\s+)?(-?\d+(?:\.\d+)?)\s*(%|percent|°c?|degrees?(?: c(?:elsius)?)?|c)?\s*", raw.lower())
    return float(found.group(1)) if found else None


def change_for(device: dict[str, Any], state: str) -> dict[str, Any]:
    """The state change `state` means for this kind of device, or a ToolError saying what it accepts."""
    kind, word = device["kind"], state.strip().lower()
    word = {"turn on": "on", "switch on": "on", "turn off": "off", "switch off": "off", "locked": "lock",
            "unlocked": "unlock", "true": "on", "false": "off"}.get(word, word)
    value = _number(word)
    if kind == "lock":
        if word in ("lock", "unlock"):
            return {"locked": word == "lock"}
        raise ToolError(f"{device['name']} is a lock: use state 'lock' or 'unlock', not {state!r}")
    if kind == "light":
        if word in ("on", "off"):
            return {"on": word == "on"}
        if value is not None and 0 <= value <= 100:
            return {"on": value > 0, "brightness": int(value)} if value > 0 else {"on": False}
        raise ToolError(f"{device['name']} is a light: use 'on', 'off' or a brightness 0-100, not {state!r}")
    if kind == "thermostat":
        if word in ("on", "off"):
            return {"mode": "heat" if word == "on" else "off"}
        low, high = THERMOSTAT_RANGE_C
        if value is not None and low <= value <= high:
            return {"mode": "heat", "target_c": value}
        raise ToolError(f"{device['name']}: use 'on', 'off' or a target temperature {low:g}-{high:g} °C, not {state!r}")
    if word in ("on", "off"):
        return {"on": word == "on"}
    raise ToolError(f"{device['name']} is a {kind}: use 'on' or 'off', not {state!r}")


def describe(device: dict[str, Any]) -> str:
    state, kind = device.get("state") or {}, device["kind"]
    if kind == "lock":
        return f"{device['name']} is {'locked' if state.get('locked') else 'unlocked'}"
    if kind == "thermostat":
        now = f", room at {state['current_c']:g} °C" if state.get("current_c") is not None else ""
        if state.get("mode") == "off":
            return f"{device['name']} is off{now}"
        return f"{device['name']} is set to {float(state.get('target_c') or 0):g} °C{now}"
    if kind == "light" and state.get("on"):
        return f"{device['name']} is on at {state.get('brightness', 100)}%"
    return f"{device['name']} is {'on' if state.get('on') else 'off'}"


class ListDevicesArgs(BaseModel):
    kind: str | None = Field(default=None, description="light, thermostat, lock or plug")
    room: str | None = Field(default=None, description="only devices in this room")


@tool("list_devices", args_schema=ListDevicesArgs)
def list_devices(kind: str | None = None, room: str | None = None) -> dict[str, Any]:
    """List smart home devices and their state, optionally one kind or one room."""
    home = backend()
    devices = home.devices()
    if kind:
        wanted = _singular(kind.lower().strip())
        kinds = [k for k, aliases in ALIASES.items() if wanted == k or wanted in aliases]
        if not kinds:
            raise ToolError(f"unknown device kind {kind!r}; use one of {', '.join(ALIASES)}")
        devices = [d for d in devices if d["kind"] in kinds]
    if room:
        devices = [d for d in devices if (d.get("room") or "").lower() == room.lower().strip()]
    if not devices:
        return {"message": "No devices match.", "devices": [], "backend": home.where}
    return {"message": "; ".join(describe(d) for d in devices) + ".", "devices": devices, "backend": home.where}


class GetDeviceArgs(BaseModel):
    device: str = Field(min_length=1, max_length=80, description="device name or id, e.g. 'front door'")


@tool("get_device", args_schema=GetDeviceArgs)
def get_device(device: str) -> dict[str, Any]:
    """The state of one device (or every device a plural name matches)."""
    home = backend()
    found = find_devices(home.devices(), device)
    return {"message": "; ".join(describe(d) for d in found) + ".", "devices": found, "backend": home.where}


class SetDeviceArgs(BaseModel):
    device: str = Field(min_length=1, max_length=80, description="device name or id; plural or 'all' for several")
    state: str = Field(min_length=1, max_length=40,
                       description="on, off, lock, unlock, or a number: brightness % for lights, °C for the thermostat")


@tool("set_device", args_schema=SetDeviceArgs)
def set_device(device: str, state: str) -> dict[str, Any]:
    """Turn a device on or off, lock or unlock it, dim a light or set the thermostat."""
    home = backend()
    found = find_devices(home.devices(), device)
    changes = [(d, change_for(d, state)) for d in found]  # validate every device before touching any
    updated = [home.apply(d, change) for d, change in changes]
    return {"message": "; ".join(describe(d) for d in updated) + ".", "devices": updated, "backend": home.where}


NOUNS = ["lights", "light", "lamp", "lamps", "thermostat", "heating", "door", "doors", "plug", "fan", "coffee maker",
         "devices", "coffee machine", "heat", "heater", "lock"]  # in every smart_home tool: they name the domain; the verbs pick the tool
TOOLS = [
    describe_tool(list_devices, domain="smart_home", action="list your devices",
                  keywords=[*NOUNS, "list devices", "my devices", "all devices", "what devices", "which devices", "smart home", "which lights are on", "what's on at home"]),
    describe_tool(get_device, domain="smart_home", action="check the device",
                  keywords=[*NOUNS, "is the", "are the", "status of", "is it locked", "locked?", "unlocked?", "state of",
                            "what is the thermostat", "locked", "unlocked", "check if the", "set to"],
                  slots={"device": "device"}),
    describe_tool(set_device, domain="smart_home", default=True, side_effects=True, action="change the device",
                  keywords=[*NOUNS, "turn on", "turn off", "switch on", "switch off", "lock", "unlock", "dim",
                            "brightness", "set the temperature", "set the thermostat", "turn up", "turn down", "kill", "brighten",
                            "open", "shut off", "switch", "turn the", "lights off", "lights on"],
                  slots={"device": "device", "state": "device_state"}),
]
