"""Our implementations of the anchor patterns, following their published designs.

- `plan_execute`: LangGraph's plan-and-execute tutorial (planner -> ReAct agent per step -> replanner).
- `react`: one tool-calling agent loop (langgraph.prebuilt.create_react_agent).
- `llm_compiler`: LLMCompiler-style (planner emits a DAG, tools run in parallel in one node, joiner answers).
"""
