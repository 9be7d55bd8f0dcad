"""Bring your own labels: a training table built with pandas, trained like a generated one.

The question: will a plane have a departure delayed by more than an hour in the week after
each Monday? The labels, anchor times and per-row weights come from your own code; relgraph
only uses rows dated at or before each anchor as features, and splits by anchor time.
"""

import os

import pandas as pd

import relgraph as rg
from relgraph.datasets import nycflights13

rg.init(home=os.environ.get("RELGRAPH_HOME", "relgraph-home"))
graph = nycflights13.load_graph(months=(10, 11, 12),
                                flight_columns=("dep_delay", "arr_delay", "distance"))

flights = graph["flights"].data
planes = set(graph["planes"].data["tailnum"])  # some flights name planes the table lacks
rows = []
for monday in pd.date_range("2013-10-14", "2013-12-16", freq="W-MON", tz="UTC"):
    past = flights[(flights["time_hour"] > monday - pd.Timedelta(days=14))
                   & (flights["time_hour"] <= monday)]
    week = flights[(flights["time_hour"] > monday)
                   & (flights["time_hour"] <= monday + pd.Timedelta(days=7))]
    late = set(week.loc[week["dep_delay"] > 60, "tailnum"])
    busy = past["tailnum"].value_counts()  # busier planes weigh more
    busy = busy[busy.index.isin(planes)]
    rows += [{"tailnum": plane, "monday": monday, "late": plane in late, "weight": float(n)}
             for plane, n in busy.items()]
labels = pd.DataFrame(rows)

table = rg.TrainingTable.from_dataframe(
    labels, graph, entity_table="planes", entity_column="tailnum",
    anchor_time_column="monday", target_column="late", weight_column="weight")
print(table)

plan = table.suggest_model_plan()
plan.training_job.num_experiments = 1
plan.optimization.max_epochs = 2
plan.optimization.max_steps_per_epoch = plan.optimization.min_steps_per_epoch = 10
result = rg.Trainer(plan).fit(graph, table)
print(result.metrics())
print(result.holdout_df().head())
