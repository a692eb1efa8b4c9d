//! Tables of training runs (params, tokens, unique_tokens, val_loss), read and written with
//! polars as CSV or Parquet; other columns are ignored.

use anyhow::{Context, Result, bail};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::Path;

/// Columns a runs table must have.
pub const RUN_COLUMNS: [&str; 4] = ["params", "tokens", "unique_tokens", "val_loss"];

/// Training runs as plain columns: one entry per run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Runs {
    /// Total parameters N.
    pub params: Vec<f64>,
    /// Total training tokens D.
    pub tokens: Vec<f64>,
    /// Unique tokens U.
    pub unique_tokens: Vec<f64>,
    /// Final validation loss (nats/token).
    pub val_loss: Vec<f64>,
}

impl Runs {
    /// Builds a table from columns, checking lengths and that every value is finite and > 0.
    pub fn new(
        params: Vec<f64>, tokens: Vec<f64>, unique_tokens: Vec<f64>, val_loss: Vec<f64>,
    ) -> Result<Self> {
        let r = Runs { params, tokens, unique_tokens, val_loss };
        r.validate()?;
        Ok(r)
    }

    /// Number of runs.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// True when there are no runs.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// Epochs D/U of run `i`.
    pub fn epochs(&self, i: usize) -> f64 {
        self.tokens[i] / self.unique_tokens[i]
    }

    /// The runs at the given indices (repeats allowed: bootstrap resamples).
    pub fn select(&self, idx: &[usize]) -> Runs {
        Runs {
            params: idx.iter().map(|&i| self.params[i]).collect(),
            tokens: idx.iter().map(|&i| self.tokens[i]).collect(),
            unique_tokens: idx.iter().map(|&i| self.unique_tokens[i]).collect(),
            val_loss: idx.iter().map(|&i| self.val_loss[i]).collect(),
        }
    }

    /// The runs of at most `max_epochs` epochs (stage 1 of the two-stage protocol).
    pub fn with_max_epochs(&self, max_epochs: f64) -> Runs {
        let idx: Vec<usize> =
            (0..self.len()).filter(|&i| self.epochs(i) <= max_epochs * (1.0 + 1e-9)).collect();
        self.select(&idx)
    }

    /// Checks equal lengths and that every value is finite and strictly positive.
    pub fn validate(&self) -> Result<()> {
        let n = self.params.len();
        let cols = [
            ("params", &self.params),
            ("tokens", &self.tokens),
            ("unique_tokens", &self.unique_tokens),
            ("val_loss", &self.val_loss),
        ];
        for (name, c) in cols {
            if c.len() != n {
                bail!("column `{name}` has {} values, expected {n}", c.len());
            }
            if let Some((i, v)) = c.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v > 0.0))
            {
                bail!(
                    "column `{name}`, run {i} (0-based): value {v} is not a finite positive number"
                );
            }
        }
        Ok(())
    }

    /// Reads a CSV or Parquet table (chosen by extension: .parquet/.pq, otherwise CSV).
    pub fn read(path: &Path) -> Result<Runs> {
        let df = if is_parquet(path) {
            let f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
            ParquetReader::new(f)
                .finish()
                .map_err(anyhow::Error::from)
                .with_context(|| format!("reading Parquet {}", path.display()))?
        } else {
            if !path.exists() {
                bail!("runs table {} does not exist", path.display());
            }
            CsvReadOptions::default()
                .with_has_header(true)
                .try_into_reader_with_file_path(Some(path.to_path_buf()))
                .and_then(|r| r.finish())
                .map_err(anyhow::Error::from)
                .with_context(|| format!("reading CSV {}", path.display()))?
        };
        Runs::from_frame(&df).with_context(|| format!("in runs table {}", path.display()))
    }

    /// Extracts the four columns from a polars frame (other columns ignored).
    pub fn from_frame(df: &DataFrame) -> Result<Runs> {
        let mut cols = Vec::with_capacity(4);
        for name in RUN_COLUMNS {
            let col = df.column(name).map_err(|_| {
                let have: Vec<String> =
                    df.get_column_names().iter().map(|s| s.to_string()).collect();
                anyhow::anyhow!("missing column `{name}` (columns present: {})", have.join(", "))
            })?;
            let col = col
                .cast(&DataType::Float64)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("column `{name}` is not numeric"))?;
            let ca = col.f64()?;
            let mut v = Vec::with_capacity(ca.len());
            for i in 0..ca.len() {
                match ca.get(i) {
                    Some(x) => v.push(x),
                    None => {
                        bail!("column `{name}`, run {i} (0-based): missing or non-numeric value")
                    }
                }
            }
            cols.push(v);
        }
        let val_loss = cols.pop().unwrap();
        let unique_tokens = cols.pop().unwrap();
        let tokens = cols.pop().unwrap();
        let params = cols.pop().unwrap();
        Runs::new(params, tokens, unique_tokens, val_loss)
    }

    /// The runs as a polars frame with the four standard columns.
    pub fn to_frame(&self) -> Result<DataFrame> {
        Ok(df!(
            "params" => self.params.clone(),
            "tokens" => self.tokens.clone(),
            "unique_tokens" => self.unique_tokens.clone(),
            "val_loss" => self.val_loss.clone(),
        )?)
    }

    /// Writes the runs as CSV or Parquet (by extension), atomically (temp file, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let mut df = self.to_frame()?;
        let mut bytes = Vec::new();
        if is_parquet(path) {
            ParquetWriter::new(&mut bytes).finish(&mut df)?;
        } else {
            CsvWriter::new(&mut bytes).include_header(true).finish(&mut df)?;
        }
        crate::fsio::write_atomic(path, &bytes)
    }
}

fn is_parquet(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("parquet" | "pq"))
}
