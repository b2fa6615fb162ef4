"""TensorBoard event files read back for the tests."""

import warnings


def events(folder, **guidance):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        accumulator = EventAccumulator(str(folder), size_guidance=guidance)
        accumulator.Reload()
    return accumulator
