"""The one family of errors nnctl raises on purpose, and the exit code of each: the one table.

The CLI (nnctl.cli) exits with an error's `exit_code`; EXIT_CODES says what each code means, and
every class below has one of its codes (tests hold the README's table equal to it).
"""

EXIT_CODES = {0: "ok", 1: "internal or write error", 2: "usage error", 3: "bad config",
              4: "bad or unreadable checkpoint",
              5: "data or an optional package unavailable", 6: "training diverged",
              7: "a check failed (eval --assert, gradcheck, export)",
              130: "interrupted (SIGINT, Ctrl-C)", 143: "terminated (SIGTERM)"}


class NnctlError(Exception):
    """Base class: a readable message and the process exit code that goes with it."""

    exit_code = 1


class ConfigError(NnctlError):
    """The YAML config is malformed, or a value is not what it must be."""

    exit_code = 3


class CheckpointError(NnctlError):
    """A checkpoint is missing, unreadable, corrupt or does not fit its config."""

    exit_code = 4


class DataError(NnctlError):
    """A data set cannot be found, read or split."""

    exit_code = 5


class TrainingDiverged(NnctlError):
    """The loss or the weights became NaN or infinite."""

    exit_code = 6


class WriteError(NnctlError):
    """A file of the run folder could not be written."""

    exit_code = 1


class RunBusy(NnctlError):
    """Another process holds the run folder's lock (it trains or resumes that run): refused, nothing changed."""

    exit_code = 1


class Interrupted(NnctlError):
    """SIGINT or SIGTERM stopped training after a batch; carries the position reached.

    `position` (an engine.train.Position: epochs finished, rows of the next one done, with their
    summed loss and score) is where a resumed run continues exactly. Exit code 128 + the signal.
    """

    def __init__(self, signal: int, position=None, message: str = ""):
        super().__init__(message or f"interrupted by signal {signal}")
        self.signal, self.position = signal, position
        self.exit_code = 128 + signal


class CheckFailed(NnctlError):
    """A check the user asked for failed: an `eval --assert`, or `gradcheck` above its tolerance."""

    exit_code = 7


class MissingDependency(NnctlError):
    """An optional package a command needs is not installed (the message names the extra)."""

    exit_code = 5
