"""Weight merging of a finetuned model with its base (WiSE-FT): stay close to what the base knew.

Example::

    from llama_index.finetuning.embeddings.merge import merge_with_base

    halfway = merge_with_base("finetuned_model", "offline", weight=0.5)   # new SentenceTransformer
    halfway.save_pretrained("merged_model")

The merged weights are ``base + weight * (finetuned - base)`` for every floating-point tensor
of the two models' state dicts (integer buffers such as position ids are the finetuned
model's). ``weight=1.0`` is the finetuned model as trained, ``0.0`` the base model. Wortsman
et al. (2022, "Robust fine-tuning of zero-shot models") and LM-Cocktail (Xiao et al., 2023)
found that such an interpolation keeps most of the finetuning gain on the training domain
while losing less elsewhere. Only sentence-transformers models have weights to merge: an
adapter (``EmbeddingAdapterFinetuneEngine``) is a map over a frozen model's embeddings.

:class:`~llama_index.finetuning.SentenceTransformersFinetuneEngine` applies it with
``merge=`` to the checkpoint it chose, before comparing that checkpoint with the base model;
``merge="auto"`` (its default) scores :data:`MERGE_CHOICES` on the checking set from 1 down,
stops at the first that scores below the best so far, and keeps the best
(:func:`.guard.choose_merge`). Nothing here imports torch until a function is called, and
nothing here imports more than this module: the CLI reads :data:`DEFAULT_MERGE` at start-up.
"""

from __future__ import annotations

import copy
from typing import Any

#: ``merge="auto"``: these weights are scored on the checking set from 1 down (until one
#: scores below the best so far) and the best is saved (evaluations, not training). Strong pairs keep their gain at 1.0; weak ones are pulled
#: towards the base (benchmarks/results/guard_cost.md).
AUTO = "auto"
MERGE_CHOICES = (1.0, 0.75, 0.5)
#: The engine's and the CLI's ``merge`` when none is given.
DEFAULT_MERGE = AUTO
#: The weight ``"auto"`` means when nothing checks the result (no checking set): 0.75 had the
#: best mean gain over the 10-K and Python-reference selection sets with no loss beyond noise
#: on either (benchmarks/results/synthetic_only.md: 1.0, 0.75, 0.5, 0.25, three seeds each).
UNCHECKED_MERGE = 0.75


def check_merge(weight: Any) -> float | str:
    """``weight`` as a float in [0, 1], or ``"auto"``, or one ``ValueError`` naming it."""
    if weight == AUTO:
        return AUTO
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 <= weight <= 1:
        raise ValueError(
            f"merge must be a number from 0 to 1 (the share of the finetuned weights: 1.0 = "
            f"as trained, 0.5 = halfway to the base model) or 'auto' (the best of "
            f"{MERGE_CHOICES} on the checking set), got {weight!r}"
        )
    return float(weight)


def _as_model(model: Any, device: str | None) -> Any:
    if isinstance(model, str):
        from .base_models import load_sentence_transformer

        return load_sentence_transformer(model, device=device)
    return model


def merge_with_base(
    model: Any, base_model: Any, weight: float, inplace: bool = False, device: str | None = None
) -> Any:
    """The finetuned ``model`` moved towards ``base_model``: ``base + weight * (model - base)``.

    Example::

        tuned = SentenceTransformer("finetuned_model")
        base = SentenceTransformer("sentence-transformers/all-MiniLM-L6-v2")
        for w in (0.25, 0.5, 0.75):      # a sweep without retraining
            merged = merge_with_base(tuned, base, w)   # tuned is left as it is
            ...

    Args:
        model: the finetuned model: a ``SentenceTransformer`` or anything
            :func:`~.base_models.load_sentence_transformer` loads (a folder, a hub id,
            ``"offline"``).
        base_model: the model it was finetuned from, in the same forms.
        weight: the share of the finetuned weights, from 0 (the base) to 1 (as trained).
        inplace: change ``model`` itself instead of a copy (saves memory for large models).
        device: where to load models given by name.

    Returns:
        The merged model (``model`` itself when ``inplace``). Its prompts, tokenizer and
        model card data are the finetuned model's.

    Raises:
        ValueError: ``weight`` is out of range, or the two models' weights differ in
            names or shapes (they are not the same architecture).
    """
    import torch

    checked = check_merge(weight)
    if isinstance(checked, str):
        raise ValueError(
            "merge_with_base needs a number from 0 to 1, not 'auto' (see guard.choose_merge)"
        )
    weight = checked
    model, base_model = _as_model(model, device), _as_model(base_model, device)
    tuned_state, base_state = model.state_dict(), base_model.state_dict()
    if tuned_state.keys() != base_state.keys():
        only = sorted(tuned_state.keys() ^ base_state.keys())
        raise ValueError(
            f"cannot merge: the models' weights have different names ({len(only)} differ, "
            f"e.g. {only[0]!r}); merge a finetuned model with the model it was trained from"
        )
    merged = {}
    with torch.no_grad():
        for name, tuned in tuned_state.items():
            base = base_state[name]
            if tuned.shape != base.shape:
                raise ValueError(
                    f"cannot merge: {name} has shape {tuple(tuned.shape)} in the finetuned model "
                    f"and {tuple(base.shape)} in the base model"
                )
            if torch.is_floating_point(tuned):
                base = base.to(device=tuned.device, dtype=tuned.dtype)
                merged[name] = base + weight * (tuned - base)
    target = model if inplace else copy.deepcopy(model)
    target.load_state_dict(merged, strict=False)  # the non-floating buffers stay as they are
    return target
