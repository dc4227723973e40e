//! Chart geometry for the HTML report's inline SVG: numbers in, pixel coordinates and tick labels
//! out. No markup is written here; the template draws these views and escapes every label, so a
//! field or series name can never inject markup. Two kinds are enough: lines over time and
//! horizontal bars for per-field ratios.

use serde::Serialize;

pub const WIDTH: f64 = 640.0;
pub const HEIGHT: f64 = 220.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 26.0;
const BOTTOM: f64 = 30.0;

/// An axis tick: its pixel position and label.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub at: f64,
    pub label: String,
}

/// One polyline of a line chart.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub name: String,
    /// CSS class, which sets the colour (`s0`, `s1`, …).
    pub class: String,
    /// `x,y x,y …` in pixels.
    pub points: String,
    /// Legend position.
    pub legend_x: f64,
}

/// A line chart ready to draw.
#[derive(Debug, Clone, Serialize)]
pub struct LineChart {
    pub id: String,
    pub title: String,
    pub y_label: String,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub bottom: f64,
    pub right: f64,
    pub top: f64,
    pub x_ticks: Vec<Tick>,
    pub y_ticks: Vec<Tick>,
    pub lines: Vec<Line>,
    pub empty: bool,
}

/// Builds a line chart of `series` (name, points (x seconds, y)) with y from 0 and x from 0 to
/// `x_span` (the run's length, so every chart of a run shares its time axis).
pub fn line_chart(
    id: &str,
    title: &str,
    y_label: &str,
    x_span: f64,
    series: &[(&str, Vec<(f64, f64)>)],
) -> LineChart {
    let points = series.iter().flat_map(|(_, p)| p.iter());
    let (mut x_max, mut y_max) = (x_span.max(0.0), 0.0f64);
    for &(x, y) in points {
        if x.is_finite() {
            x_max = x_max.max(x);
        }
        if y.is_finite() {
            y_max = y_max.max(y);
        }
    }
    let x_max = if x_max > 0.0 { x_max } else { 1.0 };
    let y_max = nice_ceiling(y_max);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let px = |x: f64| LEFT + x / x_max * plot_w;
    let py = |y: f64| TOP + plot_h - y / y_max * plot_h;
    let lines = series
        .iter()
        .enumerate()
        .map(|(i, (name, pts))| Line {
            name: (*name).to_string(),
            class: format!("s{i}"),
            points: pts
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect::<Vec<_>>()
                .join(" "),
            legend_x: LEFT + 8.0 + i as f64 * 110.0,
        })
        .collect();
    let ticks = |max: f64, to_px: &dyn Fn(f64) -> f64| {
        (0..=4)
            .map(|k| {
                let v = max * k as f64 / 4.0;
                Tick {
                    at: (to_px(v) * 10.0).round() / 10.0,
                    label: short(v),
                }
            })
            .collect::<Vec<_>>()
    };
    LineChart {
        id: id.to_string(),
        title: title.to_string(),
        y_label: y_label.to_string(),
        width: WIDTH,
        height: HEIGHT,
        left: LEFT,
        bottom: HEIGHT - BOTTOM,
        right: WIDTH - RIGHT,
        top: TOP,
        x_ticks: ticks(x_max, &px),
        y_ticks: ticks(y_max, &py),
        lines,
        empty: series.iter().all(|(_, p)| p.is_empty()),
    }
}

/// One row of a bar chart: a label and ratios (0..=1), one bar per series.
#[derive(Debug, Clone, Serialize)]
pub struct BarRow {
    pub label: String,
    pub y: f64,
    pub bars: Vec<Bar>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Bar {
    pub class: String,
    pub y: f64,
    pub width: f64,
    pub text: String,
    pub text_x: f64,
}

/// Horizontal bars of ratios, one group per row.
#[derive(Debug, Clone, Serialize)]
pub struct BarChart {
    pub id: String,
    pub title: String,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub series: Vec<String>,
    pub rows: Vec<BarRow>,
}

const BAR_H: f64 = 12.0;
const LABEL_W: f64 = 130.0;

/// `rows` of (label, one ratio per series); ratios are shown as percentages.
pub fn bar_chart(id: &str, title: &str, series: &[&str], rows: &[(String, Vec<f64>)]) -> BarChart {
    let group_h = BAR_H * series.len() as f64 + 8.0;
    let plot_w = WIDTH - LABEL_W - 70.0;
    let rows = rows
        .iter()
        .enumerate()
        .map(|(i, (label, ratios))| {
            let y = 24.0 + i as f64 * group_h;
            BarRow {
                label: label.clone(),
                y: y + BAR_H * series.len() as f64 / 2.0 + 4.0,
                bars: ratios
                    .iter()
                    .enumerate()
                    .map(|(k, r)| {
                        let r = if r.is_finite() {
                            r.clamp(0.0, 1.0)
                        } else {
                            0.0
                        };
                        let width = (r * plot_w * 10.0).round() / 10.0;
                        Bar {
                            class: format!("s{k}"),
                            y: y + k as f64 * BAR_H,
                            width,
                            text: format!("{:.1}%", r * 100.0),
                            text_x: LABEL_W + width + 4.0,
                        }
                    })
                    .collect(),
            }
        })
        .collect::<Vec<_>>();
    BarChart {
        id: id.to_string(),
        title: title.to_string(),
        width: WIDTH,
        height: 30.0 + rows.len() as f64 * group_h,
        left: LABEL_W,
        series: series.iter().map(|s| (*s).to_string()).collect(),
        rows,
    }
}

/// The smallest 1, 2 or 5 × 10^k at or above `v` (1 for an empty or zero range).
fn nice_ceiling(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|c| *c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * mag)
}

fn short(v: f64) -> String {
    if v >= 10.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        for (v, want) in [
            (0.0, 1.0),
            (0.7, 1.0),
            (1.0, 1.0),
            (1.2, 2.0),
            (3.0, 5.0),
            (7.0, 10.0),
            (180.0, 200.0),
        ] {
            assert_eq!(nice_ceiling(v), want, "{v}");
        }
    }

    #[test]
    fn points_map_into_the_plot_area() {
        let c = line_chart(
            "c",
            "t",
            "ms",
            0.0,
            &[("a", vec![(0.0, 0.0), (10.0, 50.0)])],
        );
        assert_eq!(
            c.lines[0].points,
            format!(
                "{LEFT:.1},{:.1} {:.1},{TOP:.1}",
                HEIGHT - BOTTOM,
                WIDTH - RIGHT
            )
        );
        assert_eq!(c.y_ticks.last().unwrap().label, "50");
        assert!(!c.empty);
    }
}
