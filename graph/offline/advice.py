"""Offline answers to questions about a weather result ("do I need a jacket?", "which is warmer?").

The offline model has no language model behind it, but a plan's reasoning step often asks something a
rule can answer from the weather step's message: the temperature, the sky and the chance of rain.
The items and thresholds are data (`vocabulary.ADVICE`).
"""

from __future__ import annotations

import re

from plangate.graph.offline.vocabulary import ADVICE

_CONTEXT = re.compile(r"<context>\s*(.*?)\s*</context>", re.DOTALL)
_DEGREES = re.compile(r"(-?\d+(?:\.\d+)?)\s*°\s*([CF])")
_RAIN_CHANCE = re.compile(r"(\d+)% chance of rain")
_WET_SKY = re.compile(r"\b(rain|drizzle|showers?|thunderstorm|sleet)\b", re.IGNORECASE)
_PLACE_TEMP = re.compile(r"([A-Z][\w .'\-]*?)(?:,[^:]*)?:\s*(-?\d+(?:\.\d+)?)\s*°")
_COMPARE = re.compile(r"\b(warmer|hotter|colder|cooler)\b", re.IGNORECASE)


def _celsius(value: float, unit: str) -> float:
    return (value - 32) * 5 / 9 if unit.upper() == "F" else value


def _facts(context: str) -> tuple[float | None, float | None, int, bool]:
    """(lowest °C, highest °C, chance of rain %, a wet sky named) read from a weather message."""
    temps = [_celsius(float(v), u) for v, u in _DEGREES.findall(context)]
    if "feels like" in context and len(temps) >= 2:
        temps = temps[:1] + temps[2:]  # the feels-like figure is no separate reading
    chances = [int(c) for c in _RAIN_CHANCE.findall(context)]
    low, high = (min(temps), max(temps)) if temps else (None, None)
    return low, high, max(chances, default=0), bool(_WET_SKY.search(context))


def _compare(question: str, context: str) -> str | None:
    wanted = _COMPARE.search(question)
    places = [(p.strip(), float(t)) for p, t in _PLACE_TEMP.findall(context)]
    if not wanted or len(places) < 2:
        return None
    warm = wanted.group(1).lower() in ("warmer", "hotter")
    best = max(places, key=lambda pt: pt[1]) if warm else min(places, key=lambda pt: pt[1])
    listed = ", ".join(f"{p} {t:g} °C" for p, t in places)
    return f"{best[0]} is {wanted.group(1).lower()} ({listed})."


def answer(message: str) -> str | None:
    """An answer to the question in `message` from the weather data in its <context> block, or None."""
    found = _CONTEXT.search(message)
    if not found:
        return None
    context, question = found.group(1), message[: found.start()]
    compared = _compare(question, context)
    if compared:
        return compared
    low, high, chance, wet = _facts(context)
    for pattern, test, threshold in ADVICE:
        item = re.search(pattern, question, re.IGNORECASE)
        if not item:
            continue
        thing = item.group(0)
        if test == "rain":
            rainy = wet or chance >= threshold
            why = f"{chance}% chance of rain" if chance else ("rain is reported" if wet else "no rain is reported")
            return f"{'Yes' if rainy else 'No'}, {'take' if rainy else 'you can leave'} the {thing}: {why}."
        if low is None or high is None:
            return None
        if test == "below":
            yes = low < threshold
            return f"{'Yes' if yes else 'No'}, {'take' if yes else 'no need for'} a {thing}: it's {low:.0f} °C."
        if test == "above":
            yes = high >= threshold and not wet
            return f"{'Yes' if yes else 'No'}, it's {high:.0f} °C{' with rain' if wet else ''}: " \
                   f"{thing} {'weather' if yes else 'is not a good idea'}."
        ok = high < threshold
        return f"{'Yes' if ok else 'Better not'}: it's {high:.0f} °C{', wet' if wet else ''}."
    return None
