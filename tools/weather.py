"""Weather: current conditions and daily forecasts from Open-Meteo (no API key), geocoding places by name.

`PLANGATE_WEATHER_URL` / `PLANGATE_GEOCODING_URL` point at another Open-Meteo (e.g. a self-hosted one).
Requests use short timeouts; without a network the tools fail within seconds with a RetryableToolError,
so a plan keeps what its other steps did ("couldn't get the weather, but the timer is set").
"""

from __future__ import annotations

import os
import re
from datetime import date as Date
from typing import Any, Literal

from langchain_core.tools import tool
from pydantic import BaseModel, Field

from plangate.tools import http, runtime
from plangate.tools.errors import ToolError
from plangate.tools.metadata import describe_tool

WEATHER_URL = "https://api.open-meteo.com"
GEOCODING_URL = "https://geocoding-api.open-meteo.com"
SERVICE = "the Open-Meteo weather service"
MAX_DAYS = 16
_LATLON = re.compile(r"^\s*(-?\d{1,2}(?:\.\d+)?)\s*,\s*(-?\d{1,3}(?:\.\d+)?)\s*$")
WMO = {
    0: "clear sky", 1: "mainly clear", 2: "partly cloudy", 3: "overcast", 45: "fog", 48: "freezing fog",
    51: "light drizzle", 53: "drizzle", 55: "dense drizzle", 56: "freezing drizzle", 57: "dense freezing drizzle",
    61: "light rain", 63: "rain", 65: "heavy rain", 66: "freezing rain", 67: "heavy freezing rain",
    71: "light snow", 73: "snow", 75: "heavy snow", 77: "snow grains", 80: "light showers", 81: "showers",
    82: "violent showers", 85: "snow showers", 86: "heavy snow showers", 95: "thunderstorm",
    96: "thunderstorm with hail", 99: "thunderstorm with heavy hail",
}
Units = Literal["celsius", "fahrenheit"]


def _endpoint(env: str, default: str, path: str) -> str:
    base = (os.environ.get(env) or default).rstrip("/")
    return base if base.endswith(path) else base + path


def _hint(env: str) -> str:
    return f"check the network connection or {env}"


def geocode(place: str) -> dict[str, Any]:
    """{name, latitude, longitude, label} for a place name ("Paris", "Paris, France") or "lat,lon"."""
    found = _LATLON.match(place)
    if found:
        lat, lon = float(found[1]), float(found[2])
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            raise ToolError(f"{place!r} is not a valid latitude,longitude pair")
        return {"name": place.strip(), "latitude": lat, "longitude": lon, "label": f"{lat:.2f},{lon:.2f}"}
    name, _, region = (part.strip() for part in place.partition(","))
    if not name:
        raise ToolError("place is empty; give a city name such as 'Paris' or 'Paris, France'")
    url = _endpoint("PLANGATE_GEOCODING_URL", GEOCODING_URL, "/v1/search")
    params = {"name": name, "count": 10 if region else 1, "language": "en", "format": "json"}
    body = http.json_body(http.request("GET", url, params=params, service="the Open-Meteo geocoding service",
                                          hint=_hint("PLANGATE_GEOCODING_URL")),
                          service="the Open-Meteo geocoding service")
    results = body.get("results") if isinstance(body, dict) else None
    if region and results:
        wanted = region.lower()
        results = [r for r in results if wanted in (str(r.get("country", "")) + " " + str(r.get("admin1", ""))).lower()
                   or wanted == str(r.get("country_code", "")).lower()] or results
    if not results:
        raise ToolError(f"no place called {place!r} found; check the spelling or add the country ('Paris, France')")
    top = results[0]
    label = ", ".join(str(p) for p in (top.get("name"), top.get("country")) if p)
    return {"name": top.get("name", name), "latitude": float(top["latitude"]), "longitude": float(top["longitude"]),
            "label": label, "timezone": top.get("timezone")}


def _fetch(where: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    url = _endpoint("PLANGATE_WEATHER_URL", WEATHER_URL, "/v1/forecast")
    query = {"latitude": where["latitude"], "longitude": where["longitude"], "timezone": "auto", **params}
    body = http.json_body(http.request("GET", url, params=query, service=SERVICE, hint=_hint("PLANGATE_WEATHER_URL")), service=SERVICE)
    if not isinstance(body, dict) or body.get("error"):
        raise ToolError(f"{SERVICE} refused the request: {body.get('reason') if isinstance(body, dict) else body!r}")
    return body


def _deg(value: Any, units: Units) -> str:
    return f"{round(float(value))} °{'F' if units == 'fahrenheit' else 'C'}" if value is not None else "?"


def _sky(code: Any) -> str:
    return WMO.get(int(code), f"weather code {code}") if code is not None else "unknown sky"


class CurrentArgs(BaseModel):
    place: str = Field(min_length=1, max_length=120, description="city name ('Paris', 'Paris, France') or 'lat,lon'")
    units: Units = Field(default="celsius", description="celsius or fahrenheit")


@tool("current_weather", args_schema=CurrentArgs)
def current_weather(place: str, units: Units = "celsius") -> dict[str, Any]:
    """Current weather for a place: temperature, sky, wind and humidity."""
    where = geocode(place)
    fields = "temperature_2m,apparent_temperature,relative_humidity_2m,weather_code,wind_speed_10m,precipitation"
    body = _fetch(where, {"current": fields, "temperature_unit": units, "wind_speed_unit": "kmh"})
    now = body.get("current") or {}
    if "temperature_2m" not in now:
        raise ToolError(f"{SERVICE} sent no current conditions for {where['label']}")
    message = (f"{where['label']}: {_deg(now['temperature_2m'], units)} (feels like {_deg(now.get('apparent_temperature'), units)}), "
               f"{_sky(now.get('weather_code'))}, wind {round(float(now.get('wind_speed_10m') or 0))} km/h, "
               f"humidity {now.get('relative_humidity_2m', '?')}%.")
    return {"message": message, "place": where, "current": now, "units": units}


class ForecastArgs(BaseModel):
    place: str = Field(min_length=1, max_length=120, description="city name ('Paris', 'Paris, France') or 'lat,lon'")
    days: int = Field(default=3, ge=1, le=MAX_DAYS, description="how many days from today")
    date: Date | None = Field(default=None, description="one day to report (ISO date), instead of `days`")
    units: Units = Field(default="celsius", description="celsius or fahrenheit")


@tool("forecast", args_schema=ForecastArgs)
def forecast(place: str, days: int = 3, date: Date | None = None, units: Units = "celsius") -> dict[str, Any]:
    """Daily forecast for a place: sky, low/high temperature and chance of rain, for some days or one date."""
    if date is not None:
        ahead = (date - runtime.now().date()).days
        if not 0 <= ahead < MAX_DAYS:
            raise ToolError(f"date {date} is outside the forecast range (today to {MAX_DAYS - 1} days ahead)")
        days = ahead + 1
    where = geocode(place)
    fields = "weather_code,temperature_2m_max,temperature_2m_min,precipitation_probability_max,precipitation_sum"
    body = _fetch(where, {"daily": fields, "forecast_days": days, "temperature_unit": units})
    daily = body.get("daily") or {}
    rows = []
    for index, day in enumerate(daily.get("time") or []):
        if date is not None and day != date.isoformat():
            continue
        row = {key: (daily.get(key) or [None] * (index + 1))[index] for key in fields.split(",")}
        rows.append({"date": day, **row, "sky": _sky(row["weather_code"])})
    if not rows:
        raise ToolError(f"{SERVICE} sent no forecast for {where['label']}" + (f" on {date}" if date else ""))
    parts = []
    for row in rows:
        rain = row.get("precipitation_probability_max")
        label = Date.fromisoformat(row["date"]).strftime("%a %d %b")
        parts.append(f"{label}: {row['sky']}, {_deg(row['temperature_2m_min'], units)} to {_deg(row['temperature_2m_max'], units)}"
                     + (f", {rain}% chance of rain" if rain is not None else ""))
    return {"message": f"Forecast for {where['label']}: " + "; ".join(parts) + ".", "place": where, "days": rows,
            "units": units}


NOUNS = ["weather"]  # in both tools: names the domain without favouring one
TOOLS = [
    describe_tool(current_weather, domain="weather", default=True, action="get the weather",
                  keywords=[*NOUNS, "temperature in", "temperature outside", "how hot", "how cold", "is it raining",
                            "is it sunny", "is it snowing", "current weather", "temperature", "humidity", "outside",
                            "how warm", "warm", "warmer", "hot", "cold", "colder", "sunny", "raining", "windy"],
                  slots={"place": "place"}),
    describe_tool(forecast, domain="weather", action="get the forecast",
                  keywords=[*NOUNS, "forecast", "will it rain", "will it snow", "going to rain", "umbrella", "next few days",
                            "this week", "weather tomorrow", "rain tomorrow", "rain", "snow", "going to be", "weekend"],
                  slots={"place": "place", "date": "date"}),
]
