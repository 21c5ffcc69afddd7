"""`plangate eval`: score the gate and the planner on labelled requests."""
