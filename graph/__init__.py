"""plangate.graph: the wiring (graph.py, state.py, context.py) and one subpackage per concept.

Importing this package or any submodule compiles nothing; see `plangate.graph.graph` for the prebuilt graph.
"""
