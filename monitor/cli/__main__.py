"""``python -m monitor.cli``: the tests run commands so, against this checkout."""

from monitor.cli import main

main()
