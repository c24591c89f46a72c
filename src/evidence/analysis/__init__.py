"""The review's questions: does the cell group make a difference to an outcome?

One module per concern, in the order data flows through them:

- :mod:`.question`: :class:`~.question.Question` (outcome, effect type, window, filters) and the
  allowed values of each field;
- :mod:`.extract`: an arm's numbers from the outcome rows (cells, change, level, counts) and each
  treated arm's comparator;
- :mod:`.arm_effects`: :func:`~.arm_effects.effects`, one effect per study arm or why it has none;
- :mod:`.pooling`: :func:`~.pooling.pool` per cell group, the subgroup test, the overall average
  and the safeguards (:class:`~.pooling.Pooled`);
- :mod:`.scales`: display scales, null values, measure labels and units;
- :mod:`.words`: the result in plain-language sentences.

:mod:`evidence.compare` re-exports the public names of all of them.
"""
