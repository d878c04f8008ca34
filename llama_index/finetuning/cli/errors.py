"""The two ways a command ends short of its goal, and their exit status (see ``--help``)."""


class CLIError(Exception):
    """A user error or a refusal: printed as one line, exit status 2."""


class IncompleteRun(Exception):
    """The command ran but did not produce all it was asked: printed as one line, exit 1."""
