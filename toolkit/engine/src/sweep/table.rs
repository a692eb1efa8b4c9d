//! The results table of a sweep: one row per finished run (its spec point, every summary.json
//! field, the path of its curve), kept as `runs.parquet` (authoritative) and `runs.csv`, each
//! replaced atomically so a kill at any moment leaves the previous or the next table, never a
//! torn one.

use crate::fsio::write_atomic;
use anyhow::{Context, Result, bail};
pub use dclab_types::sweep::{RunRow, TIMING_FIELDS};
use polars::prelude::*;
use serde_json::{Map, Value};
use std::io::Cursor;
use std::path::{Path, PathBuf};

/// Columns holding JSON text (nested values of a row).
const JSON_COLUMNS: [&str; 1] = ["config"];

/// Path of the authoritative table in a sweep folder.
pub fn parquet_path(dir: &Path) -> PathBuf {
    dir.join("runs.parquet")
}

/// Path of the CSV copy.
pub fn csv_path(dir: &Path) -> PathBuf {
    dir.join("runs.csv")
}

/// The rows as a polars frame (nested values as JSON text).
pub fn to_frame(rows: &[RunRow]) -> Result<DataFrame> {
    let maps: Vec<Map<String, Value>> = rows
        .iter()
        .map(|r| match serde_json::to_value(r) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => bail!("a row did not serialise to an object"),
            Err(e) => Err(e.into()),
        })
        .collect::<Result<_>>()?;
    let names: Vec<String> = match maps.first() {
        Some(m) => m.keys().cloned().collect(),
        None => return Ok(DataFrame::empty()),
    };
    let mut cols = Vec::with_capacity(names.len());
    for name in &names {
        let vals: Vec<&Value> = maps.iter().map(|m| m.get(name).unwrap_or(&Value::Null)).collect();
        cols.push(column(name, &vals));
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

fn column(name: &str, vals: &[&Value]) -> Column {
    let name: PlSmallStr = name.into();
    let any = |f: fn(&Value) -> bool| vals.iter().any(|v| f(v));
    if any(|v| v.is_string() || v.is_object() || v.is_array()) {
        let s: Vec<Option<String>> = vals
            .iter()
            .map(|v| match v {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            })
            .collect();
        Column::new(name, s)
    } else if any(Value::is_boolean) {
        Column::new(name, vals.iter().map(|v| v.as_bool()).collect::<Vec<_>>())
    } else if any(Value::is_f64) || !any(Value::is_number) {
        Column::new(name, vals.iter().map(|v| v.as_f64()).collect::<Vec<_>>())
    } else if any(Value::is_i64) && !vals.iter().all(|v| v.is_u64() || v.is_null()) {
        Column::new(name, vals.iter().map(|v| v.as_i64()).collect::<Vec<_>>())
    } else {
        Column::new(name, vals.iter().map(|v| v.as_u64()).collect::<Vec<_>>())
    }
}

/// Rows back from a frame; a frame that is not a sweep table is an error naming what is missing.
pub fn from_frame(df: &DataFrame) -> Result<Vec<RunRow>> {
    let mut rows = Vec::with_capacity(df.height());
    for i in 0..df.height() {
        let mut m = Map::new();
        for col in df.columns() {
            let name = col.name().as_str();
            let v = match col.get(i)? {
                AnyValue::Null => Value::Null,
                AnyValue::Boolean(b) => Value::Bool(b),
                AnyValue::String(s) if JSON_COLUMNS.contains(&name) => serde_json::from_str(s)
                    .with_context(|| format!("column `{name}`, row {i}: not JSON"))?,
                AnyValue::String(s) => Value::String(s.to_string()),
                AnyValue::StringOwned(s) => Value::String(s.to_string()),
                AnyValue::Float64(f) => {
                    serde_json::Number::from_f64(f).map(Value::Number).unwrap_or(Value::Null)
                }
                AnyValue::Float32(f) => {
                    serde_json::Number::from_f64(f as f64).map(Value::Number).unwrap_or(Value::Null)
                }
                AnyValue::UInt64(u) => Value::from(u),
                AnyValue::UInt32(u) => Value::from(u),
                AnyValue::Int64(x) => Value::from(x),
                AnyValue::Int32(x) => Value::from(x),
                other => {
                    bail!("column `{name}` has values of an unexpected type ({})", other.dtype())
                }
            };
            m.insert(name.to_string(), v);
        }
        let row: RunRow = serde_json::from_value(Value::Object(m))
            .with_context(|| format!("row {i} is not a sweep run"))?;
        rows.push(row);
    }
    Ok(rows)
}

/// Reads a sweep folder's table (no table yet: no rows). A table that cannot be read or is not
/// a sweep table is refused with an error; it is never overwritten.
pub fn read(dir: &Path) -> Result<Vec<RunRow>> {
    let pq = parquet_path(dir);
    if !pq.exists() {
        if csv_path(dir).exists() {
            bail!(
                "{} exists without {}: not a table this tool wrote; refusing to overwrite it (move it away or pick another --out)",
                csv_path(dir).display(),
                pq.display()
            );
        }
        return Ok(Vec::new());
    }
    read_file(&pq).with_context(|| {
        format!("refusing to touch {} (move it away or pick another --out)", pq.display())
    })
}

/// Reads one table file (Parquet, or CSV by extension).
pub fn read_file(path: &Path) -> Result<Vec<RunRow>> {
    let df = if path.extension().is_some_and(|e| e == "csv") {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(None)
            .try_into_reader_with_file_path(Some(path.to_path_buf()))
            .and_then(|r| r.finish())
            .map_err(anyhow::Error::from)
    } else {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        ParquetReader::new(Cursor::new(bytes)).finish().map_err(anyhow::Error::from)
    }
    .with_context(|| format!("{} is not a readable runs table", path.display()))?;
    from_frame(&df).with_context(|| format!("{} is not a dclab sweep table", path.display()))
}

/// Replaces the folder's tables with `rows`: Parquet first (the one read back), then CSV.
pub fn write(dir: &Path, rows: &[RunRow]) -> Result<()> {
    let mut df = to_frame(rows)?;
    let mut pq = Vec::new();
    ParquetWriter::new(&mut pq)
        .finish(&mut df)
        .map_err(anyhow::Error::from)
        .context("encoding runs.parquet")?;
    write_atomic(&parquet_path(dir), &pq)?;
    let mut csv = Vec::new();
    CsvWriter::new(&mut csv)
        .include_header(true)
        .finish(&mut df)
        .map_err(anyhow::Error::from)
        .context("encoding runs.csv")?;
    write_atomic(&csv_path(dir), &csv)
}
