"""The training screen, as a training callback (Keras' fit is the model): on stderr for `nnctl
train`, on stdout for the model API's fit (as Keras prints it).

A header before the first epoch (run folder, data set and split sizes, parameters, optimizer,
epochs, batch size); then, where a line can be redrawn, a live line through each epoch (steps
done, a bar, the ETA, steps per second, the running loss and accuracy or mae), replaced by the
epoch's row of an aligned table; elsewhere one plain line per epoch. `quiet`: nothing.

Where the live line is drawn (`live_mode`): a terminal (redrawn with `\\r` and erase-line), a
Jupyter notebook (`\\r` and padding: the output area knows no escape codes); not with TERM=dumb,
in a pipe or a file. It always fits the terminal's width, read at every redraw (a resized window
too): its fields are shortened, then dropped, in the order of SHORTEN.
"""

from __future__ import annotations

import math
import os
import sys
import time

from ..engine import metric_names
from ..printable import printable

NOTEBOOK_WIDTH = 100  # a notebook's output area has no width to ask: about its usual one
# The order in which the live line's fields (Progress.fields: each has its forms, from longest to
# gone) are shortened until the line fits: the bar first (halved, then dropped with the steps last),
# then the rate, the run's ETA, the scores' digits; the epoch and the loss stay.
SHORTEN = [("steps", 1), ("rate", 1), ("eta", 1), ("rate", 2), ("scores", 1), ("steps", 2), ("epoch", 1),
           ("steps", 3), ("eta", 2), ("scores", 2)]


def fmt(value, digits=4) -> str:
    """A number with `digits` decimals, or '-' for none."""
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def seconds(t: float) -> str:
    """A duration as 0.42s, 12.3s, 3m05s or 2h07m."""
    if t < 10:
        return f"{t:.2f}s"
    if t < 60:
        return f"{t:.1f}s"
    t = round(t)
    return f"{t // 60}m{t % 60:02d}s" if t < 3600 else f"{t // 3600}h{t % 3600 // 60:02d}m"


def live_mode(stream) -> str | None:
    """"terminal", "notebook" or None: how (and whether) a live line can be redrawn on `stream`."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        return None if os.environ.get("TERM") == "dumb" else "terminal"
    return "notebook" if "ipykernel" in sys.modules else None


def width(stream, mode: str) -> int:
    """The columns a live line may use: COLUMNS, else the terminal's; a notebook's usual width."""
    if mode == "notebook":
        return NOTEBOOK_WIDTH
    try:
        return max(int(os.environ["COLUMNS"]), 1)
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, OSError, ValueError):
        return 80


def bar(done: int, total: int, size: int) -> str:
    """[=====>....] of `size` cells."""
    filled = size * done // total
    return "[" + "=" * max(filled - 1, 0) + (">" if filled else "") + "." * (size - filled) + "]"


def fit(forms: dict[str, list[str]], columns: int) -> str:
    """The fields' longest forms that fit in `columns` - 1 (the cursor's cell: no wrap), shortened
    in the order of SHORTEN, and cut as the last resort."""
    level = dict.fromkeys(forms, 0)

    def line() -> str:
        return "  ".join(f for name, choices in forms.items() if (f := choices[min(level[name], len(choices) - 1)]))

    text = line()
    for name, to in SHORTEN:
        if len(text) < columns:
            break
        if name in level:
            level[name] = max(level[name], to)
            text = line()
    return text[:max(columns - 1, 0)]


class Progress:
    """The training screen as a training callback: it has the hooks of engine.callbacks.Callback
    without importing it (NumPy), so that `nnctl --help` stays light."""

    BAR = 20  # the live bar's width, at its longest
    REDRAW = 0.1  # seconds between redraws of the live line

    def __init__(self, quiet: bool = False, epochs: int | None = None, stream=None, live: bool = True):
        """`stream`: where it writes (default sys.stderr); `live` false: plain lines only, even on a
        terminal (the model API's verbose=2)."""
        self.quiet = quiet
        self.stream = stream if stream is not None else sys.stderr
        self.mode = None if quiet or not live else live_mode(self.stream)
        self.live = self.mode is not None
        self.info: dict = {"epochs": epochs or 0, "batch_size": 1, "task": "classification", "target_scale": 1.0}
        self.drawn = 0  # the length of the live line on the screen (0: none)
        self.began = self.epoch_started = self.last_draw = time.perf_counter()
        self.epoch_seconds: list[float] = []
        self.steps = 0
        self.head_shown = False

    @property
    def epochs(self) -> int:
        return self.info["epochs"]

    def on_train_begin(self, info):
        self.info, self.began = info, time.perf_counter()
        if self.quiet:
            return
        sizes = info["sizes"]
        kind = "regression" if info["task"] == "regression" else f"{info['n_classes']} classes"
        start = info["start"]
        lines = [f"run folder:  {printable(info['run_dir'])}"] if info["run_dir"] is not None else []
        lines += [(f"data:        {printable(info['data'])}, {info['n_features']} features, {kind}: "
                   f"{sizes['train']:,} train / {sizes['val']:,} val / {sizes['test']:,} test rows"),
                  f"model:       {info['params']:,} parameters ({info['dtype']})",
                  f"training:    {info['optimizer']}, lr {info['lr']:g}; {info['epochs']} epochs, batch size "
                  f"{info['batch_size']} ({math.ceil(sizes['train'] / info['batch_size']):,} steps an epoch); "
                  + (f"checkpoint.json keeps the {info['checkpoint']} epoch" if info["run_dir"] is not None else
                     f"the model keeps the {info['checkpoint']} epoch")]
        if info.get("table"):  # a CSV: how its columns were read
            from ..data.prepare import header_lines

            lines += [printable(line) for line in header_lines(info["table"])]
        if start["epoch"] or start["rows_done"]:
            within = f" ({start['rows_done']:,} of {sizes['train']:,} rows done)" if start["rows_done"] else ""
            lines.append(f"resuming:    at epoch {start['epoch'] + 1}{within}")
        self._echo("\n".join(lines))

    def on_epoch_begin(self, epoch):
        self.epoch_started = self.last_draw = time.perf_counter()
        self.steps = 0

    def on_train_end(self, status, error):
        self.close()  # however the run ended, its message starts a clean line

    def on_batch_end(self, epoch, rows_done, n_rows, position=None):
        self.steps += 1
        if not self.live or rows_done >= n_rows:  # the epoch's row replaces its last live line at once
            return
        now = time.perf_counter()
        if self.drawn and now - self.last_draw < self.REDRAW:
            return
        self.last_draw = now
        self._draw(fit(self.fields(epoch, rows_done, n_rows, position, now), width(self.stream, self.mode)))

    def fields(self, epoch, rows_done, n_rows, position, now) -> dict[str, list[str]]:
        """The live line's fields, each in its forms from longest to gone (see SHORTEN)."""
        size = self.info["batch_size"]
        total, done = math.ceil(n_rows / size), math.ceil(rows_done / size)
        rate = self.steps / max(now - self.epoch_started, 1e-9)
        eta = (total - done) / rate
        eta_forms = [f"ETA {seconds(eta)}"] * 2
        if self.epoch_seconds:  # the whole run's, from the epochs so far
            left = (self.epochs - epoch) * sum(self.epoch_seconds) / len(self.epoch_seconds) + eta
            eta_forms[0] += f" (run {seconds(left)})"
        scores = ["", "", ""]
        if position is not None and position.rows_done:
            loss = position.loss_sum / position.rows_done
            task = self.info["task"]
            # the scorer's running score
            name = next(s.head for s in metric_names.split_scores("train", task) if s.name != "loss")
            scale = self.info["target_scale"] if task == "regression" else 1.0
            score = position.score_sum / position.rows_done * scale
            scores = [f"loss {fmt(loss)}  {name} {fmt(score)}", f"loss {fmt(loss, 3)} {name} {fmt(score, 3)}",
                      f"loss {fmt(loss, 3)}"]
        steps = f"{done:>{len(str(total))}}/{total}"
        return {"epoch": [f"epoch {epoch}/{self.epochs}", f"{epoch}/{self.epochs}"],
                "steps": [f"{steps} {bar(done, total, self.BAR)}", f"{steps} {bar(done, total, self.BAR // 2)}",
                          steps, ""],
                "eta": [*eta_forms, ""], "rate": [f"{rate:,.0f} steps/s", f"{rate:,.0f}/s", ""], "scores": scores}

    def _draw(self, line: str) -> None:
        if self.mode == "terminal":
            self.stream.write("\r\033[K" + line)
        else:  # a notebook: no escape codes; spaces cover a longer line drawn before
            self.stream.write("\r" + line.ljust(self.drawn))
        self.stream.flush()
        self.drawn = max(len(line), 1)

    def close(self) -> None:
        """Erase the live line, so that what comes next starts a clean line."""
        if self.drawn:
            self.stream.write("\r\033[K" if self.mode == "terminal" else "\r" + " " * self.drawn + "\r")
            self.stream.flush()
            self.drawn = 0

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        self.close()  # an error or a signal mid-epoch: no half line before the message

    def on_epoch_end(self, record):
        self.close()
        self.epoch_seconds.append(record["seconds"])
        if not self.quiet:
            self._echo(self.row(record) if self.live else self.line(record))
        return False

    def line(self, r: dict) -> str:
        """The plain line of an epoch, where no live line is drawn."""
        scores = "  ".join(f"{head} {fmt(r[key])}" for head, key in columns(r))
        return f"epoch {r['epoch']}/{self.epochs}  {scores}  lr {r['lr']:g}  {r['seconds']:.2f}s"

    def row(self, r: dict) -> str:
        """An epoch's row of the aligned table, under its column heads the first time."""
        keys = columns(r)
        cells = [f"{r['epoch']}/{self.epochs}".rjust(max(len(f"{self.epochs}/{self.epochs}"), 5))]
        cells += [fmt(r[k]).rjust(max(len(h), 8)) for h, k in keys] + [f"{r['lr']:g}".rjust(8),
                                                                       seconds(r["seconds"]).rjust(7)]
        out = "  ".join(cells)
        if not self.head_shown:
            self.head_shown = True
            head = ["epoch".rjust(len(cells[0]))] + [h.rjust(max(len(h), 8)) for h, _ in keys] + ["lr".rjust(8),
                                                                                                  "time".rjust(7)]
            out = "  ".join(head) + "\n" + out
        return out

    def _echo(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def state_dict(self) -> dict:
        return {}  # nothing a resumed run needs

    def load_state_dict(self, state: dict) -> None:
        pass


def columns(record: dict) -> list[tuple[str, str]]:
    """An epoch's score columns, (head, record key), from engine.metric_names.SCORES: its task's training
    scores (loss, acc), then its validation ones (val_loss, val_acc)."""
    task = metric_names.task_of(record)
    return [(s.head if split == "train" else f"{split}_{s.head}", f"{split}_{s.name}")
            for split in ("train", "val") for s in metric_names.split_scores(split, task)]
