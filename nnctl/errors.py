"""The one family of errors nnctl raises on purpose; the CLI maps each to an exit code."""


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

    `epoch` epochs were finished and `rows_done` rows of the next one (with their summed loss
    and correct count), so a resumed run continues exactly there. Exit code 128 + the signal.
    """

    def __init__(self, signal: int, epoch: int, rows_done: int = 0, loss_sum: float = 0.0, correct: int = 0,
                 message: str = ""):
        super().__init__(message or f"interrupted by signal {signal}")
        self.signal, self.epoch, self.rows_done, self.loss_sum, self.correct = signal, epoch, rows_done, loss_sum, correct
        self.exit_code = 128 + signal


class CheckFailed(NnctlError):
    """A check the user asked for failed: an `eval --assert`, or `gradcheck` above its tolerance."""

    exit_code = 7


class MissingDependency(NnctlError):
    """An optional package a command needs is not installed (the message names the extra)."""

    exit_code = 5
