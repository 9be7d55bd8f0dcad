"""TrialSettings: the one trial type, saved with a model and loaded back."""

from __future__ import annotations

import copy
import json
import pickle

from relgraph.plan.suggest import suggest_model_plan
from relgraph.training.automl import sample_trials
from relgraph.training.settings import (
    EarlyStoppingSpec,
    HopSpec,
    LossSpec,
    LRSchedulerSpec,
    TrialSettings,
)

#: ``settings`` of a model.json written before TrialSettings carried the trial's index,
#: seed and choices.
OLD_SAVED = {
    "activation": "relu", "adaptive_sampling": False, "aggr": ["sum", "mean", "max"],
    "base_lr": 0.005, "batch_size": 128, "channels": 64, "distance_measure": "dot_product",
    "dropout": 0.0, "early_stopping": {"min_delta": 0.0, "patience": 3},
    "embedding_norm_reg_coeff": 0.0, "handle_new_target_entities": False, "lookup_lr": None,
    "lookup_optimizer": None,
    "loss": {"alpha": None, "delta": None, "gamma": None, "name": "binary_cross_entropy",
             "q": None},
    "lp_module": "context",
    "lr_scheduler": {"gamma": 1.0, "interval": "step", "name": "cosine_with_warmup",
                     "num_cycles": 1, "warmup_ratio_or_steps": 0.1},
    "majority_sampling_ratio": None, "max_epochs": 2, "max_steps_per_epoch": 8,
    "max_target_neighbors_per_entity": None, "max_test_steps": 1000, "max_val_steps": 10,
    "min_steps_per_epoch": 1, "model": "GNN", "normalization": "layer_norm", "num_heads": 8,
    "num_neighbors": [{"default": 8}, {"default": 4}], "num_post_layers": 1,
    "num_pre_layers": 0, "optimizer": "Adam", "output_embedding_dim": 32,
    "past_encoder": "decomposed", "positional_encodings": [],
    "prediction_time_encodings": False, "ranking_embedding_loss_coeff": 0.0,
    "sampling_strategy": "uniform", "target_embedding_mode": "lookup", "target_fraction": 1.0,
    "transformer_layers": 4, "weight_decay": 0.0, "weight_mode": None,
}


def test_old_saved_settings_load_typed() -> None:
    s = TrialSettings.from_dict({**OLD_SAVED, "no_longer_a_field": 1})
    assert s.loss == LossSpec("binary_cross_entropy")
    assert s.early_stopping == EarlyStoppingSpec(0.0, 3)
    assert s.lr_scheduler == LRSchedulerSpec("cosine_with_warmup", warmup_ratio_or_steps=0.1)
    assert s.num_neighbors == (HopSpec.of(8), HopSpec.of(4)) and s.num_layers == 2
    assert s.aggr == ("sum", "mean", "max") and s.positional_encodings == ()
    assert (s.trial_index, s.seed, s.choices) == (0, 0, ())
    out = s.to_dict()
    assert {k: out[k] for k in OLD_SAVED} == OLD_SAVED  # the saved keys keep their form
    assert TrialSettings.from_dict(json.loads(json.dumps(out))) == s


def test_sampled_trial_round_trips() -> None:
    plan = suggest_model_plan("regression", "best", num_train_examples=10_000)
    for t in sample_trials(plan, 4, seed=3):
        back = TrialSettings.from_dict(json.loads(json.dumps(t.to_dict())))
        assert back == t and back.choices == t.choices
        assert pickle.loads(pickle.dumps(t)) == t == copy.deepcopy(t)
        hash(t)
    assert TrialSettings.from_dict({"loss": "mae"}).loss == LossSpec("mae")
