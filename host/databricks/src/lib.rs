//! Async Databricks REST client. (Being written.)
