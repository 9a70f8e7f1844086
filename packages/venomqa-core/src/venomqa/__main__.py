"""``python -m venomqa``: the same CLI as the ``venomqa`` command."""

from venomqa.cli.main import main

if __name__ == "__main__":
    main()
