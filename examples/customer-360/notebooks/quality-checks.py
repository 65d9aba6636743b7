# Databricks notebook source
# MAGIC %md
# MAGIC # customer-360: quality checks
# MAGIC Checks the gold table before anyone reads it: no duplicate customers, no null keys, a
# MAGIC plausible row count and non-negative lifetime values. Fails the task when a check fails,
# MAGIC and reports every check's result through `dbutils.notebook.exit` for canary analysis.

# COMMAND ----------

import json

from pyspark.sql import functions as F

dbutils.widgets.text("catalog", "dev")
dbutils.widgets.text("schema", "gold")
dbutils.widgets.text("checkpoint_name", "customer-360-quality")

table = f"{dbutils.widgets.get('catalog')}.{dbutils.widgets.get('schema')}.customer_360"
df = spark.table(table)

# COMMAND ----------

total = df.count()
checks = {
    "row_count_positive": total > 0,
    "no_null_customer_id": df.where(F.col("customer_id").isNull()).count() == 0,
    "customer_id_unique": df.select("customer_id").distinct().count() == total,
    "lifetime_value_non_negative": df.where(F.col("lifetime_value") < 0).count() == 0,
}
passed = sum(checks.values())
quality_score = round(100.0 * passed / len(checks), 1)

# COMMAND ----------

result = {
    "checkpoint": dbutils.widgets.get("checkpoint_name"),
    "table": table,
    "rows": total,
    "checks": checks,
    "quality_score": quality_score,
}
if passed != len(checks):
    failed = [name for name, ok in checks.items() if not ok]
    raise AssertionError(f"quality checks failed on {table}: {', '.join(failed)} ({json.dumps(result)})")

dbutils.notebook.exit(json.dumps(result))
