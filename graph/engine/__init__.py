"""The plan engine: typed plans, scheduling, references, conditions, the step runner and the plan library."""
