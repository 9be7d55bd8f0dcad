"""What a Kumo user does after the quick-start, on relgraph: reopen the trained job by id,
rebuild its query, edit the plan (a smaller GNN, encoder overrides), train a tagged
variant in the background, find it by its tags and re-attach, load its trainer, predict
at a chosen time. Run after ``kumo_quickstart.py`` on the same home::

    python examples/kumo_followups.py trainingjob-...   # the quick-start's job id
"""

import os
import sys
from datetime import datetime

import relgraph as kumo
from relgraph.artifact_export.config import OutputConfig
from relgraph.encoder import Numerical
from relgraph.trainer import GNNModelPlan, TrainingJob

kumo.init(home=os.environ.get("RELGRAPH_HOME", "relgraph-home"))
job_id = sys.argv[1]

# Re-attach to the quick-start's job by id (another process) and read its results:
first = kumo.TrainingJob(job_id).attach()
print(f"{job_id}: {first.metrics().test_metrics}")

# The query and graph it was trained on (the job's graph snapshot):
pquery = kumo.PredictiveQuery.load_from_training_job(job_id)
graph = pquery.graph

# Edit the plan: a small GNN, chosen encoders, a short schedule:
model_plan = kumo.Trainer.load(job_id).model_plan
model_plan.model_architecture.model = [GNNModelPlan(channels=[32],
                                                    aggregation=[["sum", "mean"]])]
model_plan.column_processing.encoder_overrides = {
    "transaction.UnitPrice": Numerical(scaler="robust"),
    "transaction.Quantity": 'Numerical(scaler="minmax", na_strategy="zero")',
}
model_plan.training_job.num_experiments = 1
model_plan.optimization.max_epochs = 2

# Train a tagged variant without blocking; find it later by its tags and re-attach:
trainer = kumo.Trainer(model_plan)
trainer.fit(graph, pquery.generate_training_table(non_blocking=True), non_blocking=True,
            custom_tags={"experiment": "small-gnn"})
found = TrainingJob.search_by_tags({"experiment": "small-gnn"}, limit=1)[0]
variant = kumo.TrainingJob(found.id).attach()
print(f"{found.id}: {variant.metrics().test_metrics}")
encoders = kumo.Trainer.get_encoders(found.id)["transaction"].encoder_configs()
print(f"encoders used: UnitPrice {encoders['UnitPrice']}, Quantity {encoders['Quantity']}")

# Load the variant's trainer and predict as of a given time (the table is generated inline):
loaded = kumo.Trainer.load(found.id)
prediction_job = loaded.predict(
    graph, None,
    output_config=OutputConfig(output_types={"predictions"},
                               output_connector=kumo.LocalFileConnector("customerltv_mini"),
                               output_table_name="as_of_2011_09",
                               output_metadata_fields=["ANCHOR_TIMESTAMP"]),
    prediction_time=datetime(2011, 9, 1),
)
predictions = prediction_job.predictions_df()
print(f"{prediction_job.summary()}; anchor {predictions['ANCHOR_TIMESTAMP'].iloc[0]}")
