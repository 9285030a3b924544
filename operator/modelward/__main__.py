"""`python -m modelward` runs the command-line interface."""

from modelward.adapters import cli

raise SystemExit(cli.main())
