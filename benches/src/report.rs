//! The result table, statistics and unit formatting shared by every section.

use std::fmt::Write as _;
use std::time::Duration;

/// One line of the result table.
pub struct Row {
    pub name: String,
    pub servitor: String,
    pub peer: String,
    pub ratio: Option<f64>,
    /// Spread of the per-round ratios (%), for a paired comparison.
    pub spread: Option<f64>,
    pub goal: String,
    pub met: Option<bool>,
}

impl Row {
    /// A row comparing two figures of the same unit, smaller being better.
    pub fn compare(name: &str, servitor: f64, peer_name: &str, peer: f64, unit: Unit) -> Row {
        Row {
            name: name.to_string(),
            servitor: unit.format(servitor),
            peer: format!("{peer_name} {}", unit.format(peer)),
            ratio: (peer > 0.0).then(|| servitor / peer),
            spread: None,
            goal: "context".to_string(),
            met: None,
        }
    }

    /// A row from paired rounds: the figures are each side's median, the
    /// ratio is the median of per-round ratios (see [`crate::paired`]).
    pub fn paired(
        name: &str,
        servitor: f64,
        peer_name: &str,
        peer: f64,
        ratio: crate::paired::Ratio,
        unit: Unit,
    ) -> Row {
        Row {
            ratio: Some(ratio.median),
            spread: Some(ratio.spread),
            ..Row::compare(name, servitor, peer_name, peer, unit)
        }
    }

    /// Sets the goal text and whether it was met.
    pub fn goal(mut self, goal: &str, met: bool) -> Row {
        self.goal = goal.to_string();
        self.met = Some(met);
        self
    }
}

/// How a figure is printed.
#[derive(Clone, Copy)]
pub enum Unit {
    /// Nanoseconds, printed as ns, µs, ms or s.
    Nanos,
    /// Bytes, printed as B or KiB.
    Bytes,
}

impl Unit {
    pub fn format(self, v: f64) -> String {
        match self {
            Unit::Nanos => nanos(v),
            Unit::Bytes => {
                if v.abs() >= 1024.0 {
                    format!("{:.2} KiB", v / 1024.0)
                } else {
                    format!("{v:.0} B")
                }
            }
        }
    }
}

/// A duration in nanoseconds, in the unit that keeps it readable.
pub fn nanos(ns: f64) -> String {
    if ns >= 1e9 {
        format!("{:.3} s", ns / 1e9)
    } else if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e4 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

pub fn ns(d: Duration) -> f64 {
    d.as_nanos() as f64
}

/// The `p`-th percentile (0..=100) of `samples`, nearest-rank.
pub fn percentile(samples: &mut [f64], p: f64) -> f64 {
    assert!(!samples.is_empty());
    samples.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * samples.len() as f64).ceil() as usize;
    samples[rank.clamp(1, samples.len()) - 1]
}

pub fn median(samples: &mut [f64]) -> f64 {
    percentile(samples, 50.0)
}

/// Spread of per-round figures: (max − min) / median, in percent.
pub fn spread(samples: &mut [f64]) -> f64 {
    let m = median(samples);
    let lo = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = samples.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if m > 0.0 {
        100.0 * (hi - lo) / m
    } else {
        0.0
    }
}

/// Renders the rows as a Markdown table with aligned columns.
pub fn table(rows: &[Row]) -> String {
    let header = ["benchmark", "servitor", "peer", "ratio", "goal", "met?"];
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.servitor.clone(),
                r.peer.clone(),
                match (r.ratio, r.spread) {
                    (Some(x), Some(s)) => format!("{x:.2}× ±{s:.1}%"),
                    (Some(x), None) => format!("{x:.2}×"),
                    _ => "-".to_string(),
                },
                r.goal.clone(),
                match r.met {
                    Some(true) => "yes".to_string(),
                    Some(false) => "NO".to_string(),
                    None => "-".to_string(),
                },
            ]
        })
        .collect();
    let mut width = header.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cols: &[String]| {
        let mut s = String::from("|");
        for (c, w) in cols.iter().zip(width) {
            let pad = w - c.chars().count();
            let _ = write!(s, " {c}{} |", " ".repeat(pad));
        }
        s
    };
    let mut out = String::new();
    out.push_str(&line(&header.map(String::from)));
    out.push('\n');
    out.push('|');
    for w in width {
        out.push_str(&"-".repeat(w + 2));
        out.push('|');
    }
    out.push('\n');
    for row in &cells {
        out.push_str(&line(row));
        out.push('\n');
    }
    out
}
