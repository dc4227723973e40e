//! The SLA file: `[[sla]]` entries with a name, the figure's path, a comparison and a
//! threshold. Checked against the figures that exist before anything runs.

use serde::Deserialize;

use super::Metrics;
use crate::config::{ConfigError, Source, suggest_closest};
use crate::shape::Shape;

/// A comparison between the figure and the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
pub enum Op {
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = ">")]
    Gt,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Le => "<=",
            Op::Lt => "<",
            Op::Ge => ">=",
            Op::Gt => ">",
        }
    }

    pub fn holds(self, actual: f64, threshold: f64) -> bool {
        match self {
            Op::Le => actual <= threshold,
            Op::Lt => actual < threshold,
            Op::Ge => actual >= threshold,
            Op::Gt => actual > threshold,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlaFile {
    sla: Vec<ThresholdFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdFile {
    name: String,
    metric: String,
    op: Op,
    threshold: f64,
    #[serde(default = "default_confidence")]
    confidence: f64,
}

fn default_confidence() -> f64 {
    0.95
}

/// One promise of the contract.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub name: String,
    pub metric: String,
    pub op: Op,
    pub threshold: f64,
    pub confidence: f64,
}

/// A validated SLA file.
#[derive(Debug, Clone, PartialEq)]
pub struct SlaSpec {
    pub file: String,
    pub thresholds: Vec<Threshold>,
}

impl SlaSpec {
    pub fn from_source(src: &Source, shape: &Shape) -> Result<SlaSpec, ConfigError> {
        let file: SlaFile = src.parse()?;
        let known = Metrics::known_paths(shape);
        let mut thresholds = Vec::with_capacity(file.sla.len());
        for (i, t) in file.sla.into_iter().enumerate() {
            let at = |message: String| ConfigError {
                file: src.name.clone(),
                line: nth_metric_line(&src.text, i),
                message,
            };
            if !known.contains(&t.metric) {
                let hint = suggest_closest(&t.metric, &known)
                    .map(|s| format!("did you mean \"{s}\"?"))
                    .unwrap_or_else(|| "the README lists every figure".to_string());
                return Err(at(format!(
                    "metric \"{}\" is not a figure of summary.json ({hint})",
                    t.metric
                )));
            }
            if !t.threshold.is_finite() {
                return Err(at(format!("threshold of \"{}\" must be a number", t.name)));
            }
            if !(0.5..1.0).contains(&t.confidence) {
                return Err(at(format!(
                    "confidence of \"{}\" must be in 0.5..1 (e.g. 0.95)",
                    t.name
                )));
            }
            thresholds.push(Threshold {
                name: t.name,
                metric: t.metric,
                op: t.op,
                threshold: t.threshold,
                confidence: t.confidence,
            });
        }
        Ok(SlaSpec {
            file: src.name.clone(),
            thresholds,
        })
    }
}

fn nth_metric_line(text: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("metric"))
        .nth(n)
        .map(|(i, _)| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::replay::DEMO_SLA;

    #[test]
    fn the_demo_sla_is_valid() {
        let spec =
            SlaSpec::from_source(&Source::embedded("sla.toml", DEMO_SLA), &Shape::demo()).unwrap();
        assert!(spec.thresholds.len() >= 5);
    }

    #[test]
    fn every_preset_parses_and_names_existing_figures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/sla/presets");
        let mut names = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let src = Source::read(&path).unwrap();
            let spec = SlaSpec::from_source(&src, &Shape::demo()).unwrap_or_else(|e| panic!("{e}"));
            assert!(!spec.thresholds.is_empty(), "{}", path.display());
            names.push(path.file_name().unwrap().to_string_lossy().into_owned());
        }
        names.sort();
        assert_eq!(
            names,
            ["api.toml", "enterprise-crm.toml", "lead-routing.toml"]
        );
    }

    #[test]
    fn unknown_metrics_and_keys_are_refused_with_a_suggestion() {
        let text =
            "[[sla]]\nname = \"x\"\nmetric = \"records.los_rate\"\nop = \"<=\"\nthreshold = 0.01\n";
        let err =
            SlaSpec::from_source(&Source::embedded("sla.toml", text), &Shape::demo()).unwrap_err();
        assert_eq!(err.line, Some(3));
        assert!(
            err.message.contains("did you mean \"records.loss_rate\""),
            "{err}"
        );

        let text = "[[sla]]\nname = \"x\"\nmetric = \"records.loss_rate\"\nop = \"=<\"\nthreshold = 0.01\n";
        let err =
            SlaSpec::from_source(&Source::embedded("sla.toml", text), &Shape::demo()).unwrap_err();
        assert!(err.to_string().contains("sla.toml:4"), "{err}");

        let text = "[[sla]]\nname = \"x\"\nmetric = \"records.loss_rate\"\nop = \"<=\"\nthreshhold = 0.01\n";
        let err =
            SlaSpec::from_source(&Source::embedded("sla.toml", text), &Shape::demo()).unwrap_err();
        assert!(
            err.to_string().contains("did you mean \"threshold\""),
            "{err}"
        );
    }
}
