//! `spate-bench summarize`: reads the JSON lines of interleaved runs and prints, for each
//! asked ratio, the per-round ratios with their median and range, against the target. The
//! machine is noisy, so targets are judged on ratios taken within one round, never on
//! absolute numbers.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, bail};
use serde_json::Value;

#[derive(clap::Args, Debug)]
pub struct SummarizeArgs {
    /// JSON-lines files written with `--json-out`.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// `METRIC NUM/DEN OP TARGET TITLE...`, e.g.
    /// `records_per_s w1@spate/w1@echo >= 0.80 W1 durable vs echo`. DEN may be a number;
    /// METRIC may be `NUM_METRIC:DEN_METRIC` when the two sides name it differently.
    #[arg(long)]
    pub ratio: Vec<String>,
    /// Per-key medians of these metrics.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "records_per_s,mb_per_s,latency_p50_us,latency_p99_us,server_cpu_us_per_req,non_2xx,failed_records"
    )]
    pub metrics: Vec<String>,
    /// Also print the ratios as a Markdown table.
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Debug, PartialEq)]
pub struct RatioSpec {
    pub metric: String,
    pub denominator_metric: String,
    pub numerator: String,
    pub denominator: String,
    pub at_least: bool,
    pub target: f64,
    pub title: String,
}

pub fn parse_spec(text: &str) -> anyhow::Result<RatioSpec> {
    let mut words = text.split_whitespace();
    let (Some(metric), Some(pair), Some(op), Some(target)) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        bail!("ratio {text:?}: expected METRIC NUM/DEN OP TARGET TITLE");
    };
    let Some((numerator, denominator)) = pair.split_once('/') else {
        bail!("ratio {text:?}: expected NUM/DEN");
    };
    let at_least = match op {
        ">=" => true,
        "<=" => false,
        _ => bail!("ratio {text:?}: OP must be >= or <="),
    };
    let title: Vec<&str> = words.collect();
    let (metric, denominator_metric) = metric.split_once(':').unwrap_or((metric, metric));
    Ok(RatioSpec {
        metric: metric.to_owned(),
        denominator_metric: denominator_metric.to_owned(),
        numerator: numerator.to_owned(),
        denominator: denominator.to_owned(),
        at_least,
        target: target
            .parse()
            .with_context(|| format!("target in {text:?}"))?,
        title: title.join(" "),
    })
}

pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    })
}

/// key → round → the line for it (the last one, if a round was repeated).
type Runs = BTreeMap<String, BTreeMap<i64, Value>>;

fn load(files: &[PathBuf]) -> anyhow::Result<Runs> {
    let mut runs = Runs::new();
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let value: Value = serde_json::from_str(line)
                .with_context(|| format!("a line of {}", file.display()))?;
            let key = value["key"].as_str().unwrap_or("").to_owned();
            let round = value["round"].as_i64().unwrap_or(0);
            runs.entry(key).or_default().insert(round, value);
        }
    }
    Ok(runs)
}

/// The per-round ratios of one spec.
pub fn ratios(runs: &Runs, spec: &RatioSpec) -> Vec<(i64, f64)> {
    let Some(numerators) = runs.get(&spec.numerator) else {
        return Vec::new();
    };
    let constant = spec.denominator.parse::<f64>().ok();
    numerators
        .iter()
        .filter_map(|(round, line)| {
            let top = line[&spec.metric].as_f64()?;
            let bottom = match constant {
                Some(c) => c,
                None => {
                    runs.get(&spec.denominator)?.get(round)?[&spec.denominator_metric].as_f64()?
                }
            };
            (bottom != 0.0).then_some((*round, top / bottom))
        })
        .collect()
}

pub fn run(args: SummarizeArgs) -> anyhow::Result<()> {
    let runs = load(&args.files)?;
    let specs = args
        .ratio
        .iter()
        .map(|s| parse_spec(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut table = Vec::new();
    for spec in &specs {
        let per_round = ratios(&runs, spec);
        let values: Vec<f64> = per_round.iter().map(|(_, r)| *r).collect();
        let op = if spec.at_least { ">=" } else { "<=" };
        println!(
            "{} ({} {}/{}; target {op} {})",
            spec.title, spec.metric, spec.numerator, spec.denominator, spec.target
        );
        let Some(mid) = median(&values) else {
            println!("  no paired rounds");
            table.push(format!(
                "| {} | {op} {} | – | – | no data |",
                spec.title, spec.target
            ));
            continue;
        };
        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
        let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let met = if spec.at_least {
            mid >= spec.target
        } else {
            mid <= spec.target
        };
        let rounds: Vec<String> = per_round
            .iter()
            .map(|(r, v)| format!("r{r}={v:.3}"))
            .collect();
        println!("  {}", rounds.join(" "));
        println!(
            "  median {mid:.3}  range {low:.3}–{high:.3}  {}",
            if met { "MET" } else { "MISSED" }
        );
        table.push(format!(
            "| {} | {op} {} | {mid:.3} | {low:.3}–{high:.3} | {} |",
            spec.title,
            spec.target,
            if met { "met" } else { "**missed**" }
        ));
    }
    println!();
    println!("per-key medians over rounds:");
    for (key, rounds) in &runs {
        let mut cells = vec![format!("{key} (n={})", rounds.len())];
        for metric in &args.metrics {
            let values: Vec<f64> = rounds.values().filter_map(|v| v[metric].as_f64()).collect();
            if let Some(mid) = median(&values) {
                cells.push(format!("{metric}={mid:.2}"));
            }
        }
        let failed_checks = rounds
            .values()
            .filter(|v| v["verify_ok"] == Value::Bool(false))
            .count();
        if failed_checks > 0 {
            cells.push(format!("VERIFY FAILED in {failed_checks} rounds"));
        }
        println!("  {}", cells.join("  "));
    }
    if args.markdown && !table.is_empty() {
        println!();
        println!("| Target | Goal | Median ratio | Range | |");
        println!("|---|---|---|---|---|");
        for row in table {
            println!("{row}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn spec_parses() {
        let spec = parse_spec("records_per_s w1@spate/w1@echo >= 0.80 W1 vs echo").unwrap();
        assert_eq!(spec.numerator, "w1@spate");
        assert!(spec.at_least);
        assert_eq!(spec.title, "W1 vs echo");
        assert!(parse_spec("x a/b == 1").is_err());
    }

    #[test]
    fn ratios_pair_rounds_and_take_the_median() {
        let mut runs = Runs::new();
        for (round, spate, echo) in [(1, 40.0, 100.0), (2, 50.0, 100.0), (3, 90.0, 100.0)] {
            runs.entry("s".into())
                .or_default()
                .insert(round, json!({"records_per_s": spate}));
            runs.entry("e".into())
                .or_default()
                .insert(round, json!({"records_per_s": echo}));
        }
        // A round with only one arm is not paired.
        runs.entry("s".into())
            .or_default()
            .insert(4, json!({"records_per_s": 1.0}));
        let spec = parse_spec("records_per_s s/e >= 0.8 t").unwrap();
        let per_round = ratios(&runs, &spec);
        assert_eq!(per_round.len(), 3);
        let values: Vec<f64> = per_round.iter().map(|(_, v)| *v).collect();
        assert_eq!(median(&values), Some(0.5));
        let constant = parse_spec("records_per_s:other s/2 <= 100 t").unwrap();
        assert_eq!(constant.denominator_metric, "other");
        assert_eq!(ratios(&runs, &constant).len(), 4);
        assert_eq!(median(&[1.0, 3.0]), Some(2.0));
    }
}
