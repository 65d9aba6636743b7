# Databricks notebook source
# MAGIC %md
# MAGIC # customer-360: silver cleansing
# MAGIC Deduplicates customers by `customer_id` (latest record wins), normalises emails and
# MAGIC country codes, and merges the result into `<target_catalog>.<target_schema>.customers`.

# COMMAND ----------

import json

from delta.tables import DeltaTable
from pyspark.sql import Window
from pyspark.sql import functions as F

dbutils.widgets.text("source_catalog", "dev")
dbutils.widgets.text("source_schema", "bronze")
dbutils.widgets.text("target_catalog", "dev")
dbutils.widgets.text("target_schema", "silver")
dbutils.widgets.text("checkpoint_path", "/mnt/checkpoints/silver/customer-360")

source = f"{dbutils.widgets.get('source_catalog')}.{dbutils.widgets.get('source_schema')}.customers_raw"
target = f"{dbutils.widgets.get('target_catalog')}.{dbutils.widgets.get('target_schema')}.customers"

# COMMAND ----------

latest = Window.partitionBy("customer_id").orderBy(F.col("_ingested_at").desc())
cleaned = (
    spark.table(source)
    .where(F.col("customer_id").isNotNull())
    .withColumn("email", F.lower(F.trim("email")))
    .withColumn("country", F.upper(F.trim("country")))
    .withColumn("_rank", F.row_number().over(latest))
    .where("_rank = 1")
    .drop("_rank", "_source_file")
)

if spark.catalog.tableExists(target):
    (
        DeltaTable.forName(spark, target)
        .alias("t")
        .merge(cleaned.alias("s"), "t.customer_id = s.customer_id")
        .whenMatchedUpdateAll()
        .whenNotMatchedInsertAll()
        .execute()
    )
else:
    cleaned.write.saveAsTable(target)

# COMMAND ----------

rows = spark.table(target).count()
dropped = cleaned.where(F.col("email").isNull()).count()
dbutils.notebook.exit(json.dumps({"table": target, "rows": rows, "rows_without_email": dropped}))
