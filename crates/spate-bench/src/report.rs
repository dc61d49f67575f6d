//! One run's results: printed for a person, and appended as one JSON line for `summarize`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Latencies in nanoseconds, up to 10 minutes, to 3 significant digits.
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000_000, 3).expect("constant bounds are valid")
}

/// Records a duration, saturating at the histogram's top rather than dropping it.
pub fn record(histogram: &mut Histogram<u64>, nanos: u128) {
    let value = u64::try_from(nanos)
        .unwrap_or(u64::MAX)
        .clamp(1, histogram.high());
    histogram.saturating_record(value);
}

/// Ordered name → value pairs.
#[derive(Debug, Default, Clone)]
pub struct Report {
    fields: Vec<(String, Value)>,
}

impl Report {
    pub fn set(&mut self, name: &str, value: impl Into<Value>) {
        let value = value.into();
        match self.fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value,
            None => self.fields.push((name.to_owned(), value)),
        }
    }

    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// Adds `PREFIX_p50_us`, `_p99_us`, `_p999_us`, `_max_us` and `_count`.
    pub fn latency(&mut self, prefix: &str, histogram: &Histogram<u64>) {
        let us = |nanos: u64| round2(nanos as f64 / 1_000.0);
        self.set(&format!("{prefix}_count"), histogram.len());
        if histogram.is_empty() {
            return;
        }
        self.set(
            &format!("{prefix}_p50_us"),
            us(histogram.value_at_quantile(0.50)),
        );
        self.set(
            &format!("{prefix}_p99_us"),
            us(histogram.value_at_quantile(0.99)),
        );
        self.set(
            &format!("{prefix}_p999_us"),
            us(histogram.value_at_quantile(0.999)),
        );
        self.set(&format!("{prefix}_max_us"), us(histogram.max()));
    }

    pub fn to_json(&self) -> Value {
        let map: serde_json::Map<String, Value> = self.fields.iter().cloned().collect();
        Value::Object(map)
    }

    pub fn print(&self) {
        let width = self.fields.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        for (name, value) in &self.fields {
            let text = match value {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            println!("  {name:<width$}  {text}");
        }
    }

    /// Appends the report as one JSON line.
    pub fn append_to(&self, path: &Path) -> anyhow::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        writeln!(file, "{}", self.to_json())?;
        Ok(())
    }

    /// Prints the report and appends it where asked.
    pub fn finish(&self, json_out: Option<&Path>) -> anyhow::Result<()> {
        self.print();
        if let Some(path) = json_out {
            self.append_to(path)?;
        }
        Ok(())
    }
}

pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

/// Labels every report carries so `summarize` can pair arms of the same round.
pub fn labelled(workload: &str, key: Option<&str>, round: Option<u32>) -> Report {
    let mut report = Report::default();
    report.set("workload", workload);
    report.set("key", key.unwrap_or(workload));
    report.set("round", json!(round));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_fields_are_microseconds() {
        let mut histogram = new_histogram();
        for us in 1..=1000u128 {
            record(&mut histogram, us * 1_000);
        }
        record(&mut histogram, u128::MAX);
        let mut report = Report::default();
        report.latency("lat", &histogram);
        let p50 = report.get("lat_p50_us").and_then(Value::as_f64).unwrap();
        assert!((499.0..=502.0).contains(&p50), "{p50}");
        assert_eq!(report.get("lat_count"), Some(&json!(1001)));
        let max = report.get("lat_max_us").and_then(Value::as_f64).unwrap();
        assert!(max >= 599_000_000.0, "saturated at the top: {max}");
    }

    #[test]
    fn set_replaces_in_place() {
        let mut report = labelled("w1", None, Some(3));
        report.set("key", "w1@echo");
        assert_eq!(report.to_json()["key"], "w1@echo");
        assert_eq!(report.to_json()["round"], 3);
        assert_eq!(report.fields.len(), 3);
    }
}
