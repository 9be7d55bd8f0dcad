"""The Kumo SDK quick-start ("Introduction by Example", full code), run on relgraph.

Unchanged except the import root (``kumoai`` -> ``relgraph``), ``init`` (a local home
instead of a URL and API key) and the connector (a local folder of the customerltv_mini
tables, cut from Online Retail II, instead of S3). Run it from any folder::

    ONLINE_RETAIL_II=../shared/data/online-retail-ii python examples/kumo_quickstart.py
"""

import os

import relgraph as kumo
from relgraph.datasets import customerltv

# Initialize the SDK:
kumo.init(home=os.environ.get("RELGRAPH_HOME", "relgraph-home"))

# Create a Connector:
connector = kumo.LocalFileConnector(customerltv.write_mini(
    "customerltv_mini", os.environ.get("ONLINE_RETAIL_II", "../shared/data/online-retail-ii")))

# Inspect the source tables:
customer_src = connector['customer']
transaction_src = connector.table('transaction')
stock_src = connector.table('stock')
print(customer_src.head())
print(len(transaction_src.columns))

# Create Tables from SourceTables:
customer = kumo.Table.from_source_table(
    source_table=connector.table('customer'),
    primary_key='CustomerID',
).infer_metadata()

transaction = kumo.Table.from_source_table(
    source_table=connector.table('transaction'),
    time_column='InvoiceDate',
).infer_metadata()

print(customer.metadata)

stock = kumo.Table(
    source_table=stock_src,
    columns=dict(name='StockCode', stype='ID'),  # will infer dtype='string'
    primary_key='StockCode',
).infer_metadata()

# Validate the table's correctness:
stock.validate(verbose=True)

stock.column("StockCode").dtype = "string"
print(stock["StockCode"].dtype)

# Create a Graph:
graph = kumo.Graph(
    tables={
        'customer': customer,
        'stock': stock,
        'transaction': transaction,
    },
    edges=[
        dict(src_table='transaction', fkey='StockCode', dst_table='stock'),
        dict(src_table='transaction', fkey='CustomerID', dst_table='customer'),
    ],
)

# Validate the Graph:
graph.validate(verbose=True)

# Create a Predictive Query on the Graph:
pquery = kumo.PredictiveQuery(
    graph=graph,
    query=(
        "PREDICT MAX(transaction.Quantity, 0, 30)\n"
        "FOR EACH customer.CustomerID\n"
        "ASSUMING SUM(transaction.UnitPrice, 0, 7, days) > 15"
    ),
)

# Validate the predictive query syntax:
pquery.validate(verbose=True)

# Create a modeling plan, and a Trainer object to train a model:
model_plan = pquery.suggest_model_plan()
trainer = kumo.Trainer(model_plan)

# Train a model:
training_job = trainer.fit(
    graph=graph,
    train_table=pquery.generate_training_table(non_blocking=True),
    non_blocking=False,
)
print(f"Training metrics: {training_job.metrics()}")

# Predict on your trained model:
# For v1.4 and above:
from relgraph.artifact_export.config import OutputConfig  # noqa: E402

# For v1.3 and below (backward compatible):
# from relgraph.trainer.config import OutputConfig

prediction_job = trainer.predict(
    graph=graph,
    prediction_table=pquery.generate_prediction_table(non_blocking=True),
    output_config=OutputConfig(
        output_types={'predictions', 'embeddings'},
        output_connector=connector,
        output_table_name='kumo_predictions',
    ),
    training_job_id=training_job.job_id,  # use our training job's model
    non_blocking=False,
)
print(f'Batch prediction job summary: {prediction_job.summary()}')
