"""``python -m postduif`` runs the same CLI as the ``postduif`` console script."""

from postduif.cli import main

main()
