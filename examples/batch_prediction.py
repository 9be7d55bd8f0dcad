"""Batch prediction to a folder: train once, reload the trainer by its tag, predict in the
background, and read the Parquet files (predictions and embeddings) back.
"""

import os
from pathlib import Path

import pandas as pd

import relgraph as rg
from relgraph.datasets import nycflights13

rg.init(home=os.environ.get("RELGRAPH_HOME", "relgraph-home"))
graph = nycflights13.load_graph(months=(11, 12), flight_columns=("dep_delay", "distance"))
pq = rg.PredictiveQuery(graph, "PREDICT COUNT(flights.*, 0, 7, days) = 0 "
                               "FOR EACH planes.tailnum "
                               "WHERE COUNT(flights.*, -14, 0, days) > 0")

plan = pq.suggest_model_plan()
plan.training_job.num_experiments = 1
plan.optimization.max_epochs = 2
plan.optimization.max_steps_per_epoch = plan.optimization.min_steps_per_epoch = 10
rg.Trainer(plan).fit(graph, pq.generate_training_table(), custom_tags={"model": "idle-planes"})

# Later, in any process with the same home: the newest finished job with this tag.
trainer = rg.Trainer.load_from_tags({"model": "idle-planes"})
folder = Path("predictions")
folder.mkdir(exist_ok=True)
job = trainer.predict(
    graph, pq.generate_prediction_table(),
    output_config=rg.OutputConfig(output_types={"predictions", "embeddings"},
                                  output_connector=rg.LocalFileConnector(folder),
                                  output_table_name="idle_planes",
                                  output_metadata_fields=["ANCHOR_TIMESTAMP"]),
    non_blocking=True)
result = job.result()
print(result.summary())
for path in sorted(folder.glob("*.parquet")):
    df = pd.read_parquet(path)
    print(f"{path.name}: {len(df)} rows, columns {list(df.columns)}")

# One more copy of the predictions, as CSV, exported from the finished job:
export = result.export(rg.OutputConfig(output_types={"predictions"}, output_connector=folder,
                                       output_table_name="idle_planes_csv", file_type="csv"))
print("exported to", export.result().location)
