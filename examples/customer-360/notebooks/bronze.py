# Databricks notebook source
# MAGIC %md
# MAGIC # customer-360: bronze ingestion
# MAGIC Reads raw customer files from `source_path` with Auto Loader and appends them to
# MAGIC `<target_catalog>.<target_schema>.customers_raw`, with ingestion metadata.

# COMMAND ----------

import json

from pyspark.sql import functions as F

dbutils.widgets.text("source_path", "/mnt/raw/customer-data")
dbutils.widgets.text("target_catalog", "dev")
dbutils.widgets.text("target_schema", "bronze")
dbutils.widgets.text("checkpoint_path", "/mnt/checkpoints/bronze/customer-360")

source_path = dbutils.widgets.get("source_path")
target = f"{dbutils.widgets.get('target_catalog')}.{dbutils.widgets.get('target_schema')}.customers_raw"
checkpoint = dbutils.widgets.get("checkpoint_path")

# COMMAND ----------

raw = (
    spark.readStream.format("cloudFiles")
    .option("cloudFiles.format", "json")
    .option("cloudFiles.schemaLocation", f"{checkpoint}/schema")
    .option("cloudFiles.inferColumnTypes", "true")
    .load(source_path)
    .withColumn("_ingested_at", F.current_timestamp())
    .withColumn("_source_file", F.col("_metadata.file_path"))
)

query = (
    raw.writeStream.option("checkpointLocation", checkpoint)
    .option("mergeSchema", "true")
    .trigger(availableNow=True)
    .toTable(target)
)
query.awaitTermination()

# COMMAND ----------

progress = query.lastProgress or {}
rows = int(progress.get("numInputRows", 0))
dbutils.notebook.exit(json.dumps({"table": target, "rows_ingested": rows, "batch_id": progress.get("batchId")}))
