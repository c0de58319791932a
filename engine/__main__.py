"""``python -m engine`` runs the attain command line."""

from .cli import main

main()
