"""The words the offline rules know beyond tool metadata: data only, no logic.

Tool keywords and slot kinds (tools/*.py) say which tool a clause names and which arguments it can
fill. This module holds the language around them: typos, filler, how clauses join, conditions,
reasoning questions, things no tool does, and the advice the offline model can give from a result.
"""

from __future__ import annotations

# Common misspellings and chat shorthand, fixed before anything else reads the request (whole words).
TYPOS: dict[str, str] = {
    "wether": "weather", "weahter": "weather", "weater": "weather", "temprature": "temperature",
    "temperture": "temperature", "temp": "temperature", "tommorow": "tomorrow", "tomorow": "tomorrow",
    "tmrw": "tomorrow", "tmr": "tomorrow", "calender": "calendar", "calandar": "calendar", "remaind": "remind",
    "reminde": "remind", "alarm's": "alarm", "u": "you", "ur": "your", "pls": "please", "plz": "please",
    "thx": "thanks", "ty": "thanks", "whats": "what's", "hows": "how's", "its": "it's", "im": "i'm",
    "dont": "don't", "doesnt": "doesn't", "isnt": "isn't", "wanna": "want to", "gonna": "going to",
    "tonite": "tonight", "mins": "minutes", "min": "minutes", "secs": "seconds", "hrs": "hours", "hr": "hour",
    "tmer": "timer", "timmer": "timer", "secnds": "seconds", "seconds.": "seconds", "minuts": "minutes",
    "reminde me": "remind me", "calander": "calendar", "forcast": "forecast", "thru": "through",
    "notifiy": "notify", "notfy": "notify", "thermo": "thermostat", "lite": "light", "lites": "lights",
}

# Words that carry no task of their own: grammar, politeness, hedges. A clause is fully understood when
# every other word is a tool keyword, a slot value or part of a free-text argument.
FILLER = frozenset("""
a an the this that these those my your our his her their its it it's is are was were be been being am do does did
i i'm i'd i'll me we you you're he she they them there here what what's which who how how's when where why whether
to of in on at for with from by about into onto over up out off as so and or but then also just now right currently
please thanks thank kindly hey hi hello ok okay yo sure like maybe quickly quick real really actually again too
can could would will shall should may might must want wanna need needs let lets let's go going get got give tell
show know see check find make set put have has had any some all every one ones bit little much many few
today now tonight currently moment right-now outside there's there're today's anything something
first next after before afterwards later soon then finally also additionally plus
inside indoors here another start begin new other second called named titled saying says said running goes send list that's
all everything else
""".split())

# How clauses join. "then"-like joins make the next clause wait for the ones before it.
SEQUENTIAL_JOINS = ("and then", "and after that", "after that", "afterwards", "then", "and also then", "once done")
PARALLEL_JOINS = ("and also", "and", "also", "plus", "as well as", "or", "&", "+")

# Openers that only make a request polite ("can you ...", "i need you to ..."), removed before parsing.
OPENERS = (
    "hey", "hi", "hello", "ok so", "okay so", "ok", "okay", "so", "please", "can you please", "could you please",
    "can you", "could you", "would you", "will you", "would you mind", "i need you to", "i'd like you to",
    "i want you to", "i would like you to", "go ahead and", "quickly", "just", "also", "now", "first", "and",
    "thanks", "thank you", "cool", "great",
)

# Verbs that start a new command: a clause opening with one is never free text of the clause before.
ACTION_VERBS = ("set", "turn", "switch", "add", "put", "check", "send", "tell", "text", "call", "book", "remind",
                "start", "stop", "cancel", "make", "get", "show", "find", "search", "lock", "unlock", "open", "close",
                "play", "order", "buy", "read", "list", "delete", "remove", "dim", "wake", "notify", "remember",
                "forget", "schedule", "look", "write", "draft", "crank", "pull", "grab")

# Markers that turn a clause into a condition on a result ("if it's below zero"); "whether" asks a question.
CONDITION_MARKERS = ("only if", "in case", "if", "when", "whenever", "once", "unless")
QUESTION_IFS = ("check if", "see if", "find out if", "check whether", "see whether", "tell me if", "ask if")
# A clause that asks about a state ("is the door locked?") reads; it never changes anything.
QUESTION = r"^(?:(?:check|see|find out|tell me|ask)\s+(?:if|whether)|is|are|was|were|does|do|did)\b"

# Conditions the rules can test structurally. Each names the domain whose result it reads, a pattern (a
# regex; its first group is the value when the entry has no fixed `value`), and per tool the dotted field
# of that tool's output with the comparison. Nothing here is evaluated as code.
CONDITIONS: list[dict] = [
    {"domain": "weather", "pattern": r"\b(?:below|under|less than|colder than|lower than|drops? below|falls? below)\s+"
                                     r"(-?\d+(?:\.\d+)?)",
     "tests": {"weather.current_weather": ("current.temperature_2m", "lt"), "weather.forecast": ("days.0.temperature_2m_min", "lt")}},
    {"domain": "weather", "pattern": r"\b(?:above|over|more than|warmer than|hotter than|higher than|exceeds?)\s+"
                                     r"(-?\d+(?:\.\d+)?)",
     "tests": {"weather.current_weather": ("current.temperature_2m", "gt"), "weather.forecast": ("days.0.temperature_2m_max", "gt")}},
    {"domain": "weather", "pattern": r"\b(?:below zero|below freezing|under zero|freezing|frosty)\b", "value": 0,
     "tests": {"weather.current_weather": ("current.temperature_2m", "lt"), "weather.forecast": ("days.0.temperature_2m_min", "lt")}},
    {"domain": "weather", "pattern": r"\b(?:rains?|raining|rainy|going to rain|wet|showers?)\b", "value": 40,
     "tests": {"weather.forecast": ("days.0.precipitation_probability_max", "gt"),
               "weather.current_weather": ("current.precipitation", "gt", 0)}},
    {"domain": "weather", "pattern": r"\b(?:snows?|snowing|snowy)\b", "value": "snow",
     "tests": {"weather.forecast": ("days.0.sky", "contains"), "weather.current_weather": ("message", "contains")}},
    {"domain": "weather", "pattern": r"\b(?:sunny|clear|nice weather|good weather)\b", "value": "clear",
     "tests": {"weather.forecast": ("days.0.sky", "contains"), "weather.current_weather": ("message", "contains")}},
    {"domain": "smart_home", "pattern": r"\b(?:is|are)\s+(?:[\w-]+\s+){0,4}?(?:still\s+)?(?:unlocked|open)\b|\bnot locked\b", "value": False,
     "tests": {"smart_home.get_device": ("devices.0.state.locked", "equals")}},
    {"domain": "smart_home", "pattern": r"\b(?:is|are)\s+(?:[\w-]+\s+){0,4}?(?:still\s+)?locked\b", "value": True,
     "tests": {"smart_home.get_device": ("devices.0.state.locked", "equals")}},
    {"domain": "smart_home", "pattern": r"\b(?:is|are)\s+(?:[\w-]+\s+){0,4}?(?:still\s+)?on\b", "value": True,
     "tests": {"smart_home.get_device": ("devices.0.state.on", "equals")}},
    {"domain": "smart_home", "pattern": r"\b(?:is|are)\s+(?:[\w-]+\s+){0,4}?(?:still\s+)?off\b", "value": False,
     "tests": {"smart_home.get_device": ("devices.0.state.on", "equals")}},
    {"domain": "calendar", "pattern": r"\b(?:i'?m free|i am free|i have nothing|nothing on|i'?m not busy|"
                                      r"my (?:calendar|day|schedule) is (?:free|empty|clear))\b", "value": [],
     "tests": {"calendar.list_events": ("events", "equals")}},
    {"domain": "calendar", "pattern": r"\b(?:i have (?:a|an|any) (?:meeting|event|appointment)s?|i'?m busy|"
                                      r"anything on)\b", "value": [],
     "tests": {"calendar.list_events": ("events", "not_equals")}},
    {"domain": "search", "pattern": r"\b(?:you find (?:anything|something)|there are (?:any )?results|it finds)\b",
     "value": [], "tests": {"search.search_docs": ("results", "not_equals")}},
]
# Conditions about the step before ("if it works", "if that fails"), with no lookup of their own.
OUTCOME_CONDITIONS: list[tuple[str, str]] = [
    (r"\b(?:fails?|failed|doesn'?t work|didn'?t work|goes wrong|can'?t)\b", "failed"),
    (r"\b(?:works?|worked|succeeds?|succeeded|done|finished|goes well)\b", "succeeded"),
]
NEGATIONS = r"^(?:not|no|it'?s not|it isn'?t|they'?re not|they aren'?t|otherwise)$"

# Clauses that reason over an earlier result instead of calling a tool ("do I need a jacket?").
REASONING = (
    r"\b(?:do|should|would|will|must) i (?:need|bring|take|wear|pack|grab|put on|go)\b",
    r"\b(?:is it|it's|will it be) (?:[\w-]+ )?(?:enough )?for (?:a |an )?\w+|\b(?:too|enough) \w+ to go\b",
    r"\b(?:t-?shirt|shorts|jacket|coat|umbrella|sunscreen) weather\b",
    r"\b(?:summari[sz]e|summary|recap|overview|sum up|compare|which (?:one|city|is|of them)|warmer|colder|hotter|better|worse)\b",
    r"\btell me (?:a joke|something) about (?:it|that|them)\b",
)
ADVICE_DOMAIN = "weather"  # advice about what to wear or bring rests on a weather lookup
# Free text that is a digest of earlier results ("send me a summary"): written first, then sent.
DIGEST = r"\b(?:summary|recap|overview|digest)\b"
# Sentences the offline model answers from a weather result: item pattern -> (test, threshold °C).
ADVICE: list[tuple[str, str, float]] = [
    (r"umbrella|raincoat|rain jacket|wellies|rain boots", "rain", 40.0),
    (r"\bcoat\b|parka|gloves|scarf|\bhat\b|beanie", "below", 10.0),
    (r"jacket|sweater|jumper|hoodie|layers?|long sleeves", "below", 16.0),
    (r"shorts|t-?shirt|sandals|sunscreen|sun cream|sunglasses|swim", "above", 22.0),
    (r"\brun\b|running|jog|hike|walk|bike|cycle", "between", 30.0),
]

# Things no built-in tool does. A clause that asks for one is answered ("I can't book flights"), unless a
# tool's own noun names it ("add my flight to the calendar", "search my notes for the flight number").
OUT_OF_SCOPE = (
    r"\bflights?\b|\bplane tickets?\b|\btrain tickets?\b|\btickets? to\b|\bhotel\b|\buber\b|\blyft\b|\btaxi\b|\bcab\b",
    r"\border (?:me |us )?(?:a |an |some )?\w+|\bbuy\b|\bpurchase\b|\bpay (?:my |the )?\w+|\bshopping\b|\bamazon\b",
    r"\bplay (?:some |my |the )?\w+|\bspotify\b|\bplaylist\b|\bmusic\b|\bpodcast\b",
    r"\bcall (?:my |the )?(?!with\b)\w+|\bphone\b|\bemail\b|\be-mail\b|\btext (?!me\b)\w+|\bmessage (?!me\b)\w+",
    r"\btable for\b|\breservation\b|\brestaurant\b|\bdeliver(?:y)?\b",
    r"\bnews\b|\bheadlines\b|\bstock\b|\bshare price\b|\btranslate\b|\bhomework\b",
)
# Bare verbs that name an action in several worlds ("book a call" vs "book a flight"): on their own they do
# not make a clause belong to a domain when the clause asks for something no tool does.
GENERIC_VERBS = frozenset({"book", "add", "put", "find", "search", "search for", "look up", "order", "stop", "push",
                           "schedule", "cancel", "delete", "remove", "event", "notify", "let me know"})

# Domains whose lone task the direct reply does itself: "write a haiku" is answered, not planned.
REPLY_DOMAINS = frozenset({"llm"})

# Small talk (greetings, thanks, questions about the assistant) answered without a tool.
SMALLTALK = (
    r"^\s*(?:hi|hello|hey|yo|good (?:morning|afternoon|evening|night)|thanks?(?: you)?|thank you|thanks a lot|"
    r"how are you|how'?s it going|who are you|what are you|what'?s your name|are you (?:a )?\w+|what can you do|"
    r"what are you able to|help|can you help|tell me a joke|tell me something|bye|goodbye|cheers|see you|"
    r"you'?re \w+|ok(?:ay)?|cool|nevermind|never mind|sorry|can you hear me|are you listening|sup|who made you|"
    r"how do you|do you have (?:feelings|a name)|know any (?:good )?jokes|that'?s (?:perfect|great|wrong|all)|"
    r"that was \w+)\b"
)

# Device words for rooms, so "the kitchen and bedroom lights" lends "lights" to "the kitchen".
ROOMS = ("living room", "kitchen", "bedroom", "bathroom", "hall", "hallway", "garden", "office", "garage", "porch",
         "dining room", "basement", "attic", "nursery", "study", "upstairs", "downstairs")
# Words that never name what a timer is for ("start another for 20 minutes" is a plain timer).
LABEL_FILLER = ("another", "new one", "one", "other", "second", "start", "starts", "timers", "alarm", "hey", "thanks",
                "thank you", "please", "pls", "i need", "i'd like", "i want", "could you", "can you", "put", "on",
                "going", "goes off", "off", "up", "running", "again", "quick", "just")
STATE_WORDS: dict[str, str] = {"kill": "off", "shut off": "off", "shut down": "off", "locked": "lock",
                               "unlocked": "unlock", "open": "unlock", "warmer": "up", "cooler": "down"}
