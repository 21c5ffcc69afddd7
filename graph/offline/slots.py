"""Slot extraction from plain text: durations, dates and times, places, devices, titles, free text.

Used by the offline rules model to fill tool arguments. Deterministic: every function takes
`now` explicitly so results are reproducible.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from plangate.graph.offline.vocabulary import LABEL_FILLER, ROOMS, STATE_WORDS

_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "twenty": 20, "thirty": 30,
    "forty": 40, "forty-five": 45, "fifty": 50, "sixty": 60, "ninety": 90, "half an": 0.5, "half a": 0.5,
    "a couple of": 2, "a few": 3,
}
_UNIT_SECONDS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hr": 3600, "hour": 3600,
                 "d": 86400, "day": 86400}
_NUM = r"(?<![\w.])(\d+(?:\.\d+)?|" + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True)) + r")"
DURATION = re.compile(_NUM + r"\s*-?\s*(seconds?|secs?|minutes?|mins?|hours?|hrs?|[smh])\b", re.IGNORECASE)
_HALF = re.compile(r"\band a half\b", re.IGNORECASE)
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_CLOCK = re.compile(
    r"\b(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)|\bat\s+(\d{1,2})(?::(\d{2}))?\b(?!\s*(?:%|degrees|°))"
    r"|\b(\d{1,2}):(\d{2})\b|\b(?:at\s+)?(noon|midday|midnight)\b",
    re.IGNORECASE,
)
_DAY_WORDS = re.compile(r"\b(today|tonight|tomorrow|day after tomorrow|(?:next\s+)?(?:" + "|".join(_WEEKDAYS) + r"))\b",
                        re.IGNORECASE)
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_MONTH = r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|" \
         r"nov(?:ember)?|dec(?:ember)?)"
MONTH_DATE = re.compile(rf"\b{_MONTH}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b|\b(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+of\s+{_MONTH}\b"
                        r"|\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b", re.IGNORECASE)
_PLACE = re.compile(r"\b(?:in|for|at|of)\s+((?:[A-Z][\w'\-]+)(?:\s+(?:[A-Z][\w'\-]+))*)")
_PLACE_LOWER = re.compile(r"\b(?:in|for)\s+([a-z][\w'\-]+(?:\s+[a-z][\w'\-]+)?)")
_NOT_PLACES = {w.capitalize() for w in _WEEKDAYS} | {"Today", "Tomorrow", "Tonight", "I", "Me", "My", "The"}
_NOT_PLACE_WORDS = {
    "the", "a", "an", "my", "this", "next", "today", "tomorrow", "tonight", "minutes", "minute", "hours", "hour", "days",
    "day", "week", "weeks", "morning", "evening", "afternoon", "and", "then", "please", "me", "it", "now", "later",
    "celsius", "fahrenheit", "here", "there", "town", "case", "order", "bed", "kitchen", "bedroom", "living", "hall",
    "garden", "seconds", "second",
} | set(_WEEKDAYS)
DEVICE_NOUNS = (r"lights?|lamps?|thermostat|heating|heater|locks?|doors?|plugs?|fans?|tv|speakers?|blinds|"
                r"coffee maker|coffee machine|sockets?|outlets?")
_DEVICE = re.compile(
    r"\b((?:(?!the\b|my\b|all\b|turn\b|switch\b|set\b|and\b|on\b|off\b|lock\b|unlock\b|dim\b|is\b|are\b|to\b|of\b)[a-z]+\s+){0,2}"
    r"(?:" + DEVICE_NOUNS + r"))\b",
    re.IGNORECASE,
)
_ROOM = re.compile(r"\bin the ([a-z]+(?: room)?)\b", re.IGNORECASE)
_ROOMS = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, ROOMS), key=len, reverse=True)) + r")\b", re.IGNORECASE)


def duration_seconds(text: str) -> int | None:
    """Total seconds of every duration in `text` ("1 hour 30 minutes" -> 5400), or None."""
    total = 0.0
    last_unit = 0
    for number, unit in DURATION.findall(text):
        value = _NUMBER_WORDS.get(number.lower()) if not number[0].isdigit() else float(number)
        unit_key = unit.lower().rstrip("s") or "s"
        seconds = _UNIT_SECONDS.get(unit_key, _UNIT_SECONDS.get(unit_key[0], 1))
        total += float(value or 0) * seconds
        last_unit = seconds
    if total and _HALF.search(text):
        total += last_unit / 2
    return int(total) if total > 0 else None


def duration_minutes(text: str) -> int | None:
    seconds = duration_seconds(text)
    return max(1, round(seconds / 60)) if seconds else None


def _clock(text: str) -> tuple[int, int] | None:
    for match in _CLOCK.finditer(text):
        hour_s, minute_s, meridiem, at_hour, at_minute, h24, m24, named = match.groups()
        if named:
            hour, minute = (0, 0) if named.lower() == "midnight" else (12, 0)
        elif hour_s:
            hour, minute = int(hour_s), int(minute_s or 0)
            if meridiem.lower().startswith("p") and hour < 12:
                hour += 12
            if meridiem.lower().startswith("a") and hour == 12:
                hour = 0
        elif at_hour:
            hour, minute = int(at_hour), int(at_minute or 0)
            if 1 <= hour <= 6:  # "at 3" with no am/pm means the afternoon
                hour += 12
        else:
            hour, minute = int(h24), int(m24)
        if 0 <= hour < 24 and 0 <= minute < 60:
            return hour, minute
    return None


def _month_date(text: str, now: datetime) -> datetime | None:
    """"december 3rd", "the 3rd of december", "the 12th" (this month, or the next if it has passed)."""
    match = MONTH_DATE.search(text)
    if not match:
        return None
    month_name, day_a, day_b, month_b, day_c = match.groups()
    name = month_name or month_b
    month = _MONTHS.index(name[:3].lower()) + 1 if name else now.month
    day = int(day_a or day_b or day_c)
    base = now.replace(hour=0, minute=0, second=0, microsecond=0)
    for year, mon in ((now.year, month), (now.year + (month == 12 if not name else 1), month % 12 + 1 if not name else month)):
        try:
            candidate = base.replace(year=year, month=mon, day=day)
        except ValueError:
            continue
        if candidate >= base:
            return candidate
    return None


def date_in(text: str, now: datetime) -> datetime | None:
    """The day named in `text` (today, tomorrow, a weekday, an ISO date) at midnight, or None."""
    iso = _ISO_DATE.search(text)
    if iso:
        return datetime(int(iso[1]), int(iso[2]), int(iso[3]), tzinfo=now.tzinfo)
    named = _month_date(text, now)
    if named is not None:
        return named
    match = _DAY_WORDS.search(text)
    if not match:
        return None
    word = match.group(1).lower()
    base = now.replace(hour=0, minute=0, second=0, microsecond=0)
    if word in ("today", "tonight"):
        return base
    if word == "tomorrow":
        return base + timedelta(days=1)
    if word == "day after tomorrow":
        return base + timedelta(days=2)
    ahead = (_WEEKDAYS.index(word.split()[-1]) - base.weekday()) % 7 or 7
    return base + timedelta(days=ahead)


def datetime_in(text: str, now: datetime) -> datetime | None:
    """A date and time named in `text` ("tomorrow at 9am"); a bare time means its next occurrence."""
    day = date_in(text, now)
    clock = _clock(text)
    if day is None and clock is None:
        return None
    if clock is None:
        clock = (20, 0) if "tonight" in text.lower() else (9, 0)
    if day is None:
        candidate = now.replace(hour=clock[0], minute=clock[1], second=0, microsecond=0)
        return candidate if candidate > now else candidate + timedelta(days=1)
    return day.replace(hour=clock[0], minute=clock[1])


def place_in(text: str) -> str | None:
    """A place name after in/for/at ("weather in New York" -> "New York", "weather in paris" -> "Paris")."""
    for match in _PLACE.finditer(text):
        words = [w for w in match.group(1).split() if w not in _NOT_PLACES]
        if words and words[0] == match.group(1).split()[0]:
            return " ".join(words)
    for match in _PLACE_LOWER.finditer(text):
        words = []
        for word in match.group(1).split():
            if word.lower() in _NOT_PLACE_WORDS or DURATION.match(word):
                break
            words.append(word)
        if words and not any(ch.isdigit() for w in words for ch in w):
            return " ".join(w.capitalize() for w in words)
    return None


_MORE_PLACES = re.compile(r"\s*(?:,\s*(?:and\s+)?|\s+and\s+|\s+or\s+)([A-Za-z][\w'\-]+(?:\s+[A-Z][\w'\-]+)*)")


def places_in(text: str) -> list[str]:
    """Every place of a list ("weather in Paris, Rome and London" -> ["Paris", "Rome", "London"])."""
    first = place_in(text)
    if first is None:
        return []
    found = [first]
    at = text.lower().find(first.lower())
    rest = text[at + len(first):] if at >= 0 else ""
    lower_ok = at >= 0 and text[at].islower()  # "in paris and london": lower-case names were used
    while True:
        match = _MORE_PLACES.match(rest)
        if not match:
            break
        words = match.group(1).split()
        if words[0].lower() in _NOT_PLACE_WORDS or not (words[0][0].isupper() or lower_ok):
            break
        found.append(" ".join(w if w[0].isupper() else w.capitalize() for w in words))
        rest = rest[match.end():]
    return found


def device_in(text: str) -> str | None:
    """A device phrase ("kitchen lights", "front door"), lower-cased; the longest one named wins.

    A room named after the device ("the lights in the bedroom") is put in front: "bedroom lights".
    """
    found = [m.group(1).lower().strip() for m in _DEVICE.finditer(text)
             if not re.fullmatch(r"locks?", m.group(1).strip(), re.IGNORECASE)
             or not re.match(r"\s+(?:it|them|the|my|all|up|both|every)\b", text[m.end():], re.IGNORECASE)]
    if not found:
        return None
    phrase = max(found, key=lambda p: (len(p.split()), found.index(p)))
    room = _ROOM.search(text)
    if room and room.group(1).lower() not in phrase:
        phrase = f"{room.group(1).lower()} {phrase}"
    if re.search(r"\b(all|every)\b", text, re.IGNORECASE) and not phrase.startswith("all "):
        phrase = f"all {phrase}"
    return phrase


def device_state_in(text: str) -> str | None:
    """The wanted state: a number with % or degrees, lock/unlock, on/off, a synonym ("kill" -> off), or a bare
    number after 'to'."""
    lowered = text.lower()
    measured = re.search(r"(\d+(?:\.\d+)?)\s*(?:%|percent|degrees|°)", lowered)
    if measured:
        return measured.group(1)
    for word in ("unlock", "lock", "off", "on"):
        if re.search(rf"\b{word}\b", lowered):
            return word
    for word, state in STATE_WORDS.items():
        if re.search(rf"\b{re.escape(word)}\b", lowered) and state in ("on", "off", "lock", "unlock"):
            return state
    number = re.search(r"\b(?:to|at|up to|down to)\s+(\d+(?:\.\d+)?)\b", lowered)
    return number.group(1) if number else None


def room_in(text: str) -> str | None:
    """A room named in `text` ("the kitchen"), lower-cased."""
    match = _ROOMS.search(text)
    return match.group(0).lower() if match else None


def device_noun(phrase: str) -> str:
    """The device noun of a phrase ("kitchen lights" -> "lights")."""
    found = re.findall(r"\b(?:" + DEVICE_NOUNS + r")\b", phrase, re.IGNORECASE)
    return found[-1].lower() if found else ""


def number_in(text: str) -> float | None:
    match = re.search(r"-?\d+(?:\.\d+)?", text)
    return float(match.group()) if match else None


_FILLER = re.compile(
    r"\b(please|can you|could you|would you|i want to|i'd like to|for me|to my|in my|on my|my|the|a|an|me|"
    r"and|then|also|set|add|put|create|make|at|on|for|in|to|with|of)\b",
    re.IGNORECASE,
)
_LABEL_FILLER = re.compile(r"\b(?:" + "|".join(map(re.escape, LABEL_FILLER)) + r")\b", re.IGNORECASE)
_EDGE_FILLER = re.compile(
    r"^(?:(?:please|can you|could you|would you|i want to|i'd like to|also|then|and|a|an|the|my|new|for|on|at|in|to|"
    r"called|named|titled)\b\s*)+|(?:\s*\b(?:please|for|on|at|in|to|and|then|from|my|the|a|an))+$",
    re.IGNORECASE,
)


def _without_times(text: str) -> str:
    out = re.sub(r"\bfor\s+" + DURATION.pattern, " ", text, flags=re.IGNORECASE)
    out = DURATION.sub(" ", out)
    out = _CLOCK.sub(" ", out)
    out = _DAY_WORDS.sub(" ", out)
    out = MONTH_DATE.sub(" ", out)
    return _ISO_DATE.sub(" ", out)


def residue(text: str, remove: list[str]) -> str:
    """`text` without the given phrases, times, durations and filler words: what is left names the thing."""
    out = _without_times(text)
    for phrase in sorted(remove, key=len, reverse=True):
        out = re.sub(rf"\b{re.escape(phrase)}\b", " ", out, flags=re.IGNORECASE)
    out = _FILLER.sub(" ", out)
    out = _LABEL_FILLER.sub(" ", out)
    out = re.sub(r"[^\w'\- ]+", " ", out)
    return re.sub(r"\s+", " ", out).strip()


def title_in(text: str, commands: list[str], place: str | None = None) -> str | None:
    """An event title: the text without times, the place, and command phrases at its start or end.

    "schedule a meeting with Bob on Friday at 3pm" -> "meeting with Bob"; inner words are kept.
    """
    out = _without_times(text)
    if place:
        out = re.sub(rf"\b(?:at|in)\s+{re.escape(place)}\b", " ", out)
    out = re.sub(r"[^\w'\- ]+", " ", out)
    out = re.sub(r"\s+", " ", out).strip()
    out = _EDGE_FILLER.sub("", out).strip()
    for phrase in sorted(commands, key=len, reverse=True):  # one pass: "meeting" in "a meeting with Bob" stays
        out = re.sub(rf"^{re.escape(phrase)}\b\s*|\s*\b{re.escape(phrase)}$", "", out, flags=re.IGNORECASE).strip()
    out = _EDGE_FILLER.sub("", out).strip()
    return out or None


def text_after(text: str, triggers: list[str]) -> str:
    """What follows the first trigger phrase ("remember that X" -> "X"), else the whole text."""
    lowered = text.lower()
    best: tuple[int, int] | None = None
    for trigger in triggers:
        match = re.search(rf"(?<!\w){re.escape(trigger)}(?!\w)", lowered)
        if match and (best is None or (match.start(), -match.end()) < (best[0], -best[1])):
            best = (match.start(), match.end())
    rest = text[best[1]:] if best else text
    rest = re.sub(r"^\s*(?:(?:that|to|about|for|saying|of|with)\b|:|,)\s*", "", rest, flags=re.IGNORECASE)
    return rest.strip(" .?!") or text.strip(" .?!")
