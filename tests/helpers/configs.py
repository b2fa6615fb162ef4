"""A valid config written as a user would (block style, a comment-free file), and the writer the config
tests share."""

import textwrap

VALID = """\
seed: 3
data:
  name: moons
  n_samples: 200
model:
  layers:
    - {units: 8, activation: relu}
    - {units: 2, activation: softmax}
loss: cross_entropy
optimizer: {name: adam, lr: 1e-3}
"""


def write(tmp_path, text, name="c.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path
