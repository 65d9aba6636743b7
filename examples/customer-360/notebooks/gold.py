# Databricks notebook source
# MAGIC %md
# MAGIC # customer-360: gold aggregation
# MAGIC Builds the one-row-per-customer `customer_360` table: profile, order totals and
# MAGIC recency from the silver tables.

# COMMAND ----------

import json

from pyspark.sql import functions as F

dbutils.widgets.text("source_catalog", "dev")
dbutils.widgets.text("source_schema", "silver")
dbutils.widgets.text("target_catalog", "dev")
dbutils.widgets.text("target_schema", "gold")

src = f"{dbutils.widgets.get('source_catalog')}.{dbutils.widgets.get('source_schema')}"
target = f"{dbutils.widgets.get('target_catalog')}.{dbutils.widgets.get('target_schema')}.customer_360"

# COMMAND ----------

customers = spark.table(f"{src}.customers")
orders = spark.table(f"{src}.orders")

order_stats = orders.groupBy("customer_id").agg(
    F.count("*").alias("order_count"),
    F.sum("amount").alias("lifetime_value"),
    F.max("order_date").alias("last_order_date"),
)

customer_360 = (
    customers.join(order_stats, "customer_id", "left")
    .fillna({"order_count": 0, "lifetime_value": 0.0})
    .withColumn("days_since_last_order", F.datediff(F.current_date(), "last_order_date"))
    .withColumn("_built_at", F.current_timestamp())
)

customer_360.write.mode("overwrite").option("overwriteSchema", "true").saveAsTable(target)

# COMMAND ----------

summary = spark.table(target).agg(F.count("*").alias("customers"), F.sum("lifetime_value").alias("revenue")).first()
dbutils.notebook.exit(
    json.dumps({"table": target, "customers": int(summary["customers"]), "revenue": float(summary["revenue"] or 0.0)})
)
