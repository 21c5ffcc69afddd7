"""The task suite: what each request needs done, so every system does identical work.

A Task lists its steps (tool, args, dependencies). An argument may be `Ref(n)`: the `value` output
of step n. plangate's plans write it as `{{step_n.value}}`, LLMCompiler's as `$n`, and models that
read earlier results (ReAct, P&E) write the resolved value, which `resolved_args` computes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from bench.tools import BROKEN, BY_PLAN_NAME, tool_value

TaskClass = Literal["simple", "independent", "chained", "failing", "reasoning"]
CLASSES: tuple[TaskClass, ...] = ("simple", "independent", "chained", "failing", "reasoning")
COMPLEX: tuple[TaskClass, ...] = ("independent", "chained", "failing")  # "all complex", as in issue 16's baseline


@dataclass(frozen=True)
class Ref:
    """The `value` output of an earlier step."""

    step: int


@dataclass(frozen=True)
class Step:
    id: int
    tool: str  # "domain.tool"
    args: dict[str, Any]
    description: str
    depends_on: tuple[int, ...] = ()

    def prerequisites(self) -> set[int]:
        return set(self.depends_on) | {v.step for v in self.args.values() if isinstance(v, Ref)}

    @property
    def latency_x(self) -> float:
        return BY_PLAN_NAME[self.tool].latency_x


@dataclass(frozen=True)
class Task:
    id: str
    cls: TaskClass
    request: str
    steps: tuple[Step, ...]
    tags: tuple[str, ...] = field(default=())

    @property
    def simple(self) -> bool:
        return self.cls == "simple"

    def step(self, step_id: int) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def resolved_args(self, step_id: int) -> dict[str, str]:
        """Arguments with every Ref replaced by the referenced step's value."""
        step = self.step(step_id)
        return {k: tool_value(self.step(v.step).tool, self.resolved_args(v.step)) if isinstance(v, Ref) else v
                for k, v in step.args.items()}

    def fails(self, step_id: int) -> bool:
        return any(v in BROKEN for v in self.resolved_args(step_id).values())

    @cached_property
    def outcome(self) -> dict[int, str]:
        """ok / failed / not_run per step: a step runs only if everything it needs succeeded."""
        status: dict[int, str] = {}
        for step in self.steps:  # steps are in dependency order
            if any(status[p] != "ok" for p in step.prerequisites()):
                status[step.id] = "not_run"
            else:
                status[step.id] = "failed" if self.fails(step.id) else "ok"
        return status

    def expected_calls(self) -> list[tuple[str, dict[str, str]]]:
        """The tool calls a correct run makes (every step that can run, once)."""
        return [(s.tool, self.resolved_args(s.id)) for s in self.steps if self.outcome[s.id] != "not_run"]

    def tool_chain(self, tool_latency_s: float) -> float:
        """The longest chain of tool latencies through the steps that run (a dependency-driven schedule)."""
        finish: dict[int, float] = {}
        for step in self.steps:
            if self.outcome[step.id] == "not_run":
                continue
            start = max((finish[p] for p in step.prerequisites()), default=0.0)
            finish[step.id] = start + tool_latency_s * step.latency_x
        return max(finish.values(), default=0.0)

    def waves(self, max_parallel: int = 10**6) -> list[list[int]]:
        """plangate's BSP supersteps: every ready step (up to max_parallel) runs, then the next wave."""
        done: set[int] = set()
        runnable = [s for s in self.steps if self.outcome[s.id] != "not_run"]
        waves: list[list[int]] = []
        while len(done) < len(runnable):
            ready = [s.id for s in runnable if s.id not in done and s.prerequisites() <= done][:max_parallel]
            waves.append(ready)
            done.update(ready)
        return waves

    def bsp_chain(self, tool_latency_s: float, max_parallel: int = 10**6) -> float:
        """Tool time when each wave waits for its slowest step."""
        return sum(max(tool_latency_s * self.step(i).latency_x for i in wave) for wave in self.waves(max_parallel))

    def critical_path(self, model_latency_s: float, tool_latency_s: float) -> float:
        """Minimum sequential model calls any design needs x latency + longest tool chain.

        Simple: one call picks the tool and its arguments (the tool's message is the answer).
        Complex, every step succeeds, results that speak for themselves (independent, chained): one call writes
        the plan with references and an answer template; the answer needs no model.
        A failing tool, or an answer that needs reasoning over the results: the plan, then one call that writes
        the answer (for a failure: decides to stop and says what failed).
        """
        return self.min_model_calls() * model_latency_s + self.tool_chain(tool_latency_s)

    def min_model_calls(self) -> int:
        return 1 if self.simple or (self.cls != "reasoning" and "failed" not in self.outcome.values()) else 2

    def conclusion(self) -> str | None:
        """For a reasoning task, what the answer must conclude: the step whose value ranks highest."""
        if self.cls != "reasoning":
            return None
        best = max(self.steps, key=lambda s: tool_value(s.tool, self.resolved_args(s.id)))
        return conclusion_text(best.description)


def conclusion_text(description: str) -> str:
    return f"Best: {description}"


def S(i: int, tool: str, description: str, deps: tuple[int, ...] = (), **args: Any) -> Step:  # noqa: N802
    return Step(i, tool, args, description, deps)


def _simple(tid: str, request: str, tool: str, description: str, **args: Any) -> Task:
    return Task(tid, "simple", request, (S(1, tool, description, **args),))


SIMPLE: tuple[Task, ...] = (
    _simple("s01", "what's the weather in Paris", "weather.forecast", "get the weather in Paris", place="Paris"),
    _simple("s02", "add a dentist appointment on Friday at 9am to my calendar", "calendar.add_event",
            "add the dentist appointment", title="dentist appointment", when="Friday 09:00"),
    _simple("s03", "turn off the kitchen lights", "home.set_device", "turn off the kitchen lights",
            device="kitchen lights", state="off"),
    _simple("s04", "search for the best pizza dough recipe", "search.web_search", "search for a pizza dough recipe",
            query="best pizza dough recipe"),
    _simple("s05", "send a message to Anna saying I'm running late", "notify.send_message", "message Anna",
            to="Anna", text="I'm running late"),
    _simple("s06", "show me the latest news about electric cars", "news.headlines", "get news about electric cars",
            topic="electric cars"),
    _simple("s07", "what's the stock price of ACME", "finance.stock_quote", "get the ACME quote", symbol="ACME"),
    _simple("s08", "what's the status of flight LH123", "travel.flight_status", "check flight LH123", flight="LH123"),
    _simple("s09", "book a taxi from home to the airport", "travel.book_taxi", "book a taxi to the airport",
            pickup="home", destination="airport"),
    _simple("s10", "translate good morning into Spanish", "translate.translate", "translate good morning",
            text="good morning", language="Spanish"),
    _simple("s11", "set the thermostat to 21 degrees", "home.set_device", "set the thermostat",
            device="thermostat", state="21"),
    _simple("s12", "what's on my agenda for tomorrow", "calendar.agenda", "read tomorrow's agenda", day="tomorrow"),
    _simple("s13", "will it rain in Berlin tomorrow", "weather.forecast", "get the weather in Berlin", place="Berlin"),
    # No domain keyword: the cascade's rules are unsure and ask the weak model.
    _simple("s14", "is it going to be sunny in Madrid this weekend", "weather.forecast", "get the weather in Madrid",
            place="Madrid"),
    _simple("s15", "ping Bob that dinner is at 8", "notify.send_message", "message Bob", to="Bob", text="dinner is at 8"),
)

INDEPENDENT: tuple[Task, ...] = (
    Task("c01", "independent", "check the weather in Paris and the news about the Tour de France", (
        S(1, "weather.forecast", "get the weather in Paris", place="Paris"),
        S(2, "news.headlines", "get Tour de France news", topic="Tour de France"))),
    Task("c02", "independent", "turn off the lights and set the thermostat to 18 degrees and lock the front door", (
        S(1, "home.set_device", "turn off the lights", device="lights", state="off"),
        S(2, "home.set_device", "set the thermostat to 18", device="thermostat", state="18"),
        S(3, "home.set_device", "lock the front door", device="front door", state="locked"))),
    Task("c03", "independent", "what's the weather in London and the stock price of ACME and the latest headlines about AI", (
        S(1, "weather.forecast", "get the weather in London", place="London"),
        S(2, "finance.stock_quote", "get the ACME quote", symbol="ACME"),
        S(3, "news.headlines", "get AI headlines", topic="AI"))),
    Task("c04", "independent", "search for flight deals to Rome and search for hotels in Rome and search for Rome museums", (
        S(1, "search.web_search", "search flight deals to Rome", query="flight deals to Rome"),
        S(2, "search.web_search", "search hotels in Rome", query="hotels in Rome"),
        S(3, "search.web_search", "search Rome museums", query="Rome museums"))),
    Task("c05", "independent", "check flight LH123 and book a taxi to the airport and message Tom that I land at 6", (
        S(1, "travel.flight_status", "check flight LH123", flight="LH123"),
        S(2, "travel.book_taxi", "book a taxi to the airport", pickup="home", destination="airport"),
        S(3, "notify.send_message", "message Tom", to="Tom", text="I land at 6"))),
    Task("c06", "independent", "weather in Paris and weather in Rome and weather in Oslo and weather in Lima", (
        S(1, "weather.forecast", "get the weather in Paris", place="Paris"),
        S(2, "weather.forecast", "get the weather in Rome", place="Rome"),
        S(3, "weather.forecast", "get the weather in Oslo", place="Oslo"),
        S(4, "weather.forecast", "get the weather in Lima", place="Lima"))),
    Task("c07", "independent", "turn on the porch lights and set the heating to 20 degrees and check the weather in Oslo "
         "and show the news about skiing and search for ski rentals", (
        S(1, "home.set_device", "turn on the porch lights", device="porch lights", state="on"),
        S(2, "home.set_device", "set the heating to 20", device="heating", state="20"),
        S(3, "weather.forecast", "get the weather in Oslo", place="Oslo"),
        S(4, "news.headlines", "get skiing news", topic="skiing"),
        S(5, "search.web_search", "search ski rentals", query="ski rentals"))),
    Task("c08", "independent", "check the stock price of ACME and the stock price of GLOBEX and the stock price of "
         "INITECH and the news about markets and the weather in New York and my agenda for Monday", (
        S(1, "finance.stock_quote", "get the ACME quote", symbol="ACME"),
        S(2, "finance.stock_quote", "get the GLOBEX quote", symbol="GLOBEX"),
        S(3, "finance.stock_quote", "get the INITECH quote", symbol="INITECH"),
        S(4, "news.headlines", "get market news", topic="markets"),
        S(5, "weather.forecast", "get the weather in New York", place="New York"),
        S(6, "calendar.agenda", "read Monday's agenda", day="Monday"))),
    # The rules see one news task with extra words (confidence 0.85) and ask the weak model.
    Task("c23", "independent", "grab the ACME share price and the headlines on AI", (
        S(1, "finance.stock_quote", "get the ACME quote", symbol="ACME"),
        S(2, "news.headlines", "get AI headlines", topic="AI"))),
)

CHAINED: tuple[Task, ...] = (
    Task("c09", "chained", "search for the best hiking trail near Denver, then check the weather there", (
        S(1, "search.web_search", "find a hiking trail near Denver", query="best hiking trail near Denver"),
        S(2, "weather.forecast", "get the weather at the trail", place=Ref(1)))),
    Task("c10", "chained", "look up the address of the Louvre, then book a taxi there, then message Anna the pickup time", (
        S(1, "search.web_search", "find the Louvre's address", query="address of the Louvre"),
        S(2, "travel.book_taxi", "book a taxi to the Louvre", pickup="hotel", destination=Ref(1)),
        S(3, "notify.send_message", "message Anna the pickup time", to="Anna", text=Ref(2)))),
    Task("c11", "chained", "check flight LH123, then message Tom the arrival time", (
        S(1, "travel.flight_status", "check flight LH123", flight="LH123"),
        S(2, "notify.send_message", "message Tom the arrival time", to="Tom", text=Ref(1)))),
    Task("c12", "chained", "search for a chicken curry recipe, then translate it into French, then send it to Marie "
         "in a message", (
        S(1, "search.web_search", "find a chicken curry recipe", query="chicken curry recipe"),
        S(2, "translate.translate", "translate the recipe into French", text=Ref(1), language="French"),
        S(3, "notify.send_message", "send the recipe to Marie", to="Marie", text=Ref(2)))),
    Task("c13", "chained", "check the weather in Paris and the weather in Lyon, then message Paul which city is warmer", (
        S(1, "weather.forecast", "get the weather in Paris", place="Paris"),
        S(2, "weather.forecast", "get the weather in Lyon", place="Lyon"),
        S(3, "notify.send_message", "tell Paul the warmer city", (1, 2), to="Paul", text="compare Paris and Lyon"))),
    Task("c14", "chained", "search for the top rated sci-fi novel, then look up its author, then translate the "
         "author's bio into German, then email it to me", (
        S(1, "search.web_search", "find the top sci-fi novel", query="top rated sci-fi novel"),
        S(2, "search.web_search", "look up its author", query=Ref(1)),
        S(3, "translate.translate", "translate the bio into German", text=Ref(2), language="German"),
        S(4, "notify.send_message", "email the bio to me", to="me", text=Ref(3)))),
    Task("c15", "chained", "check the stock price of ACME and the news about ACME, then search for analyst opinions on "
         "that, then translate the summary into Spanish, then message it to my broker", (
        S(1, "finance.stock_quote", "get the ACME quote", symbol="ACME"),
        S(2, "news.headlines", "get ACME news", topic="ACME"),
        S(3, "search.web_search", "search analyst opinions", (1,), query=Ref(2)),
        S(4, "translate.translate", "translate the summary into Spanish", text=Ref(3), language="Spanish"),
        S(5, "notify.send_message", "message my broker", to="broker", text=Ref(4)))),
    Task("c16", "chained", "check the weather in Rome and flight AZ610 and my agenda for Friday, then book a taxi to "
         "the airport, then add a calendar event for the trip, then notify Sara", (
        S(1, "weather.forecast", "get the weather in Rome", place="Rome"),
        S(2, "travel.flight_status", "check flight AZ610", flight="AZ610"),
        S(3, "calendar.agenda", "read Friday's agenda", day="Friday"),
        S(4, "travel.book_taxi", "book a taxi to the airport", pickup="home", destination=Ref(2)),
        S(5, "calendar.add_event", "add the trip to the calendar", (3,), title="trip to Rome", when=Ref(4)),
        S(6, "notify.send_message", "notify Sara", to="Sara", text=Ref(5)))),
    # A trap for the cascade: "tell Anna" has no keyword, so the rules are sure this is one weather request.
    Task("c24", "chained", "what's the weather in Paris and then tell Anna", (
        S(1, "weather.forecast", "get the weather in Paris", place="Paris"),
        S(2, "notify.send_message", "tell Anna the weather", to="Anna", text=Ref(1))), tags=("rules-trap",)),
)

FAILING: tuple[Task, ...] = (
    Task("c17", "failing", "check the stock price of ZZZZ and the news about ZZZZ", (
        S(1, "finance.stock_quote", "get the ZZZZ quote", symbol="ZZZZ"),
        S(2, "news.headlines", "get ZZZZ news", topic="ZZZZ news"))),
    Task("c18", "failing", "check flight XX999, then message Tom the arrival time", (
        S(1, "travel.flight_status", "check flight XX999", flight="XX999"),
        S(2, "notify.send_message", "message Tom the arrival time", to="Tom", text=Ref(1)))),
    Task("c19", "failing", "open the garage door and turn on the driveway lights", (
        S(1, "home.set_device", "open the garage door", device="garage door", state="open"),
        S(2, "home.set_device", "turn on the driveway lights", device="driveway lights", state="on"))),
    Task("c20", "failing", "check the weather in Atlantis, then add a beach day to my calendar", (
        S(1, "weather.forecast", "get the weather in Atlantis", place="Atlantis"),
        S(2, "calendar.add_event", "add a beach day", title="beach day", when=Ref(1)))),
    Task("c21", "failing", "search for concerts in Vienna and check flight XX999 and the weather in Vienna, then "
         "message Lena the plan", (
        S(1, "search.web_search", "search concerts in Vienna", query="concerts in Vienna"),
        S(2, "travel.flight_status", "check flight XX999", flight="XX999"),
        S(3, "weather.forecast", "get the weather in Vienna", place="Vienna"),
        S(4, "notify.send_message", "message Lena the plan", (1, 2, 3), to="Lena", text="Vienna plan"))),
    Task("c22", "failing", "check the stock price of ACME and the stock price of ZZZZ, then translate the ACME quote "
         "into German", (
        S(1, "finance.stock_quote", "get the ACME quote", symbol="ACME"),
        S(2, "finance.stock_quote", "get the ZZZZ quote", symbol="ZZZZ"),
        S(3, "translate.translate", "translate the ACME quote", text=Ref(1), language="German"))),
)

# The answer needs reasoning over the results, so an answer template would be wrong: a competent planner leaves
# it out, and plangate must still call the summarizer and conclude correctly. Phrased so the cascade's rules see
# the question about the results (the gate is issue 14's): the class measures the answer path, not routing.
REASONING: tuple[Task, ...] = (
    Task("r01", "reasoning", "check the weather in Paris and the weather in Lyon, then tell me which city is warmer", (
        S(1, "weather.forecast", "get the weather in Paris", place="Paris"),
        S(2, "weather.forecast", "get the weather in Lyon", place="Lyon"))),
    Task("r02", "reasoning", "check the stock price of ACME and the stock price of GLOBEX and the stock price of "
         "INITECH, then tell me which is highest", (
        S(1, "finance.stock_quote", "get the ACME quote", symbol="ACME"),
        S(2, "finance.stock_quote", "get the GLOBEX quote", symbol="GLOBEX"),
        S(3, "finance.stock_quote", "get the INITECH quote", symbol="INITECH"))),
    Task("r03", "reasoning", "search for hotels in Rome and search for hotels in Milan, then tell me which city has "
         "the better deal", (
        S(1, "search.web_search", "search hotels in Rome", query="hotels in Rome"),
        S(2, "search.web_search", "search hotels in Milan", query="hotels in Milan"))),
)

SUITE: tuple[Task, ...] = SIMPLE + INDEPENDENT + CHAINED + FAILING + REASONING

# Heterogeneous tool latencies: where BSP supersteps (a wave waits for its slowest step) cost time.
BSP: tuple[Task, ...] = (
    Task("b01", "chained", "write a report on fusion and find a fact about tokamaks, then search that fact, then "
         "translate it into Italian", (
        S(1, "research.deep_report", "write the fusion report", topic="fusion"),
        S(2, "research.quick_fact", "find a tokamak fact", topic="tokamaks"),
        S(3, "search.web_search", "search the fact", query=Ref(2)),
        S(4, "translate.translate", "translate it into Italian", text=Ref(3), language="Italian"))),
    Task("b02", "chained", "write a report on batteries and find a fact about lithium, then find a fact about that, "
         "then find a fact about that too", (
        S(1, "research.deep_report", "write the battery report", topic="batteries"),
        S(2, "research.quick_fact", "find a lithium fact", topic="lithium"),
        S(3, "research.quick_fact", "find a fact about it", topic=Ref(2)),
        S(4, "research.quick_fact", "find a fact about that", topic=Ref(3)))),
    Task("b03", "chained", "find a fact about Mars and write a report on Venus, then write a report on that fact", (
        S(1, "research.quick_fact", "find a Mars fact", topic="Mars"),
        S(2, "research.deep_report", "write the Venus report", topic="Venus"),
        S(3, "research.deep_report", "write a report on the fact", topic=Ref(1)))),
)


def growth_task(n: int, shape: Literal["chain", "wide"]) -> Task:
    """An n-step search task: a chain (each step uses the previous result) or a wide DAG (all independent)."""
    if shape == "chain":
        steps = tuple(S(i, "search.web_search", f"search step {i}", query=f"topic {i}" if i == 1 else Ref(i - 1))
                      for i in range(1, n + 1))
        text = "search for topic 1" + "".join(", then search for that" for _ in range(n - 1))
    else:
        steps = tuple(S(i, "search.web_search", f"search topic {i}", query=f"topic {i}") for i in range(1, n + 1))
        text = " and ".join(f"search for topic {i}" for i in range(1, n + 1))
    return Task(f"{shape}{n:02d}", "simple" if n == 1 else ("chained" if shape == "chain" else "independent"), text, steps)


def by_id(task_id: str) -> Task:
    for task in (*SUITE, *BSP):
        if task.id == task_id:
            return task
    raise KeyError(task_id)
