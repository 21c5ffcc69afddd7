"""`python -m plangate ...` is the `plangate` command."""

from plangate.graph.cli.main import main

raise SystemExit(main())
