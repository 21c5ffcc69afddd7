"""The module `langgraph dev` loads (langgraph.json: `plangate.graph.server.served:graph`).

The server reads the graph from this module's namespace, so importing it compiles the graph: the same
object as `plangate.graph.graph:graph`, built once per process.
"""

from plangate.graph.graph import prebuilt

graph = prebuilt()
