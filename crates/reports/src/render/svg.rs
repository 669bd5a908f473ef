//! Charts as inline SVG, drawn by hand: lines over months or years, horizontal bars (rankings,
//! funnels), stacked bars (grade distributions), heat maps (compliance per branch and month).

use std::fmt::Write;

use super::html::esc;
use crate::table::cell;
use crate::{Chart, Section};

const COLORS: [&str; 8] = [
    "#b71c1c", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#5d4037", "#9e9d24",
];
/// Bars drawn at most (the table below the chart has every row).
const MAX_BARS: usize = 30;
const MAX_HEAT_ROWS: usize = 40;

fn column_text(section: &Section, name: &str) -> Vec<String> {
    match section.table.column(name) {
        Ok(c) => (0..c.len()).map(|i| cell(c, i).text()).collect(),
        Err(_) => Vec::new(),
    }
}

fn column_num(section: &Section, name: &str) -> Vec<Option<f64>> {
    match section.table.column(name) {
        Ok(c) => (0..c.len()).map(|i| cell(c, i).number()).collect(),
        Err(_) => Vec::new(),
    }
}

/// A round step for an axis from 0 to `max` with about five ticks.
fn nice_step(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let raw = max / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let f = raw / mag;
    let nice = if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

pub fn chart(section: &Section, chart: &Chart) -> String {
    match chart {
        Chart::Line { x, ys } => line(section, x, ys),
        Chart::Bars { label, value } => bars(section, label, value),
        Chart::Stacked { x, stacks } => stacked(section, x, stacks),
        Chart::Heatmap { row, col, value } => heatmap(section, row, col, value),
    }
}

fn line(section: &Section, x: &str, ys: &[String]) -> String {
    let xs = column_text(section, x);
    let series: Vec<(String, Vec<Option<f64>>)> = ys
        .iter()
        .map(|y| (section.label(y).to_string(), column_num(section, y)))
        .collect();
    let n = xs.len();
    if n == 0 {
        return String::new();
    }
    let max = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0f64, |a, b| a.max(*b));
    let min = series
        .iter()
        .flat_map(|(_, v)| v.iter().flatten())
        .fold(0.0f64, |a, b| a.min(*b));
    let step = nice_step(max - min.min(0.0));
    let top = (max / step).ceil().max(1.0) * step;
    let bottom = if min < 0.0 {
        (min / step).floor() * step
    } else {
        0.0
    };
    let (w, h, left, right, up, down) = (860.0, 300.0, 56.0, 20.0, 30.0, 50.0);
    let pw = w - left - right;
    let ph = h - up - down;
    let px = |i: usize| {
        left + if n > 1 {
            pw * i as f64 / (n - 1) as f64
        } else {
            pw / 2.0
        }
    };
    let py = |v: f64| up + ph - (v - bottom) / (top - bottom) * ph;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">"
    );
    let mut t = bottom;
    while t <= top + step / 2.0 {
        let y = py(t);
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#666\">{}</text>",
            w - right,
            left - 6.0,
            y + 4.0,
            fmt_num(t)
        );
        t += step;
    }
    let every = n.div_ceil(14).max(1);
    for (i, label) in xs.iter().enumerate() {
        if i % every == 0 || i == n - 1 {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">{}</text>",
                px(i),
                h - down + 18.0,
                esc(label)
            );
        }
    }
    for (k, (name, values)) in series.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", px(i), py(v))))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>",
            points.join(" ")
        );
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    s,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{color}\"><title>{} {}: {}</title></circle>",
                    px(i),
                    py(*v),
                    esc(&xs[i]),
                    esc(name),
                    fmt_num(*v)
                );
            }
        }
        let lx = left + 10.0 + k as f64 * 170.0;
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"18\" font-size=\"12\">{}</text>",
            lx + 16.0,
            esc(name)
        );
    }
    s.push_str("</svg>");
    s
}

fn bars(section: &Section, label: &str, value: &str) -> String {
    let labels = column_text(section, label);
    let values = column_num(section, value);
    let n = labels.len().min(MAX_BARS);
    if n == 0 {
        return String::new();
    }
    let max = values
        .iter()
        .take(n)
        .flatten()
        .fold(0.0f64, |a, b| a.max(*b));
    let label_w = labels
        .iter()
        .take(n)
        .map(|l| {
            l.chars()
                .map(|c| if c.is_ascii() { 7.0 } else { 13.0 })
                .sum::<f64>()
        })
        .fold(60.0f64, f64::max)
        .min(320.0);
    let (w, bar_h, gap) = (860.0, 18.0, 6.0);
    let h = n as f64 * (bar_h + gap) + 30.0;
    let plot = w - label_w - 80.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">\
         <text x=\"{label_w:.0}\" y=\"14\" font-size=\"12\" fill=\"#666\">{}{}</text>",
        esc(section.label(value)),
        if labels.len() > n {
            format!("（前 {n} 项，共 {} 项）", labels.len())
        } else {
            String::new()
        }
    );
    for (i, label) in labels.iter().take(n).enumerate() {
        let v = values.get(i).copied().flatten().unwrap_or(0.0);
        let y = 22.0 + i as f64 * (bar_h + gap);
        let bw = if max > 0.0 { plot * v / max } else { 0.0 };
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{}</text>\
             <rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bar_h}\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" fill=\"#333\">{}</text>",
            label_w - 6.0,
            y + 13.0,
            esc(label),
            label_w,
            COLORS[0],
            label_w + bw + 4.0,
            y + 13.0,
            fmt_num(v)
        );
    }
    s.push_str("</svg>");
    s
}

fn stacked(section: &Section, x: &str, stacks: &[String]) -> String {
    let xs = column_text(section, x);
    let n = xs.len().min(MAX_BARS);
    if n == 0 {
        return String::new();
    }
    let cols: Vec<Vec<Option<f64>>> = stacks.iter().map(|c| column_num(section, c)).collect();
    let totals: Vec<f64> = (0..n)
        .map(|i| cols.iter().map(|c| c[i].unwrap_or(0.0)).sum())
        .collect();
    let max = totals.iter().copied().fold(0.0f64, f64::max);
    let (w, h, left, up, down) = (860.0, 300.0, 56.0, 34.0, 40.0);
    let ph = h - up - down;
    let slot = (w - left - 20.0) / n as f64;
    let bw = (slot * 0.6).min(60.0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">"
    );
    for (k, c) in stacks.iter().enumerate() {
        let lx = left + k as f64 * 120.0;
        let _ = write!(
            s,
            "<rect x=\"{lx}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{:.1}\" y=\"18\" font-size=\"12\">{}</text>",
            COLORS[k % COLORS.len()],
            lx + 16.0,
            esc(section.label(c))
        );
    }
    for i in 0..n {
        let cx = left + slot * i as f64 + (slot - bw) / 2.0;
        let mut y = up + ph;
        for (k, c) in cols.iter().enumerate() {
            let v = c[i].unwrap_or(0.0);
            let bh = if max > 0.0 { ph * v / max } else { 0.0 };
            y -= bh;
            let _ = write!(
                s,
                "<rect x=\"{cx:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {}: {}</title></rect>",
                COLORS[k % COLORS.len()],
                esc(&xs[i]),
                esc(section.label(&stacks[k])),
                fmt_num(v)
            );
        }
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            cx + bw / 2.0,
            h - down + 16.0,
            esc(&xs[i])
        );
    }
    s.push_str("</svg>");
    s
}

fn heatmap(section: &Section, row: &str, col: &str, value: &str) -> String {
    let rows = column_text(section, row);
    let cols = column_text(section, col);
    let vals = column_num(section, value);
    let mut row_keys: Vec<&String> = Vec::new();
    let mut col_keys: Vec<&String> = Vec::new();
    for r in &rows {
        if !row_keys.contains(&r) && row_keys.len() < MAX_HEAT_ROWS {
            row_keys.push(r);
        }
    }
    for c in &cols {
        if !col_keys.contains(&c) {
            col_keys.push(c);
        }
    }
    col_keys.sort();
    if row_keys.is_empty() || col_keys.is_empty() {
        return String::new();
    }
    let max = vals.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
    let label_w = 240.0;
    let cell_w = ((860.0 - label_w) / col_keys.len() as f64).clamp(14.0, 60.0);
    let cell_h = 16.0;
    let w = label_w + cell_w * col_keys.len() as f64 + 10.0;
    let h = 40.0 + cell_h * row_keys.len() as f64 + 10.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\">"
    );
    for (j, c) in col_keys.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"30\" font-size=\"10\" text-anchor=\"end\" transform=\"rotate(-45 {:.1} 30)\">{}</text>",
            label_w + cell_w * (j as f64 + 0.5),
            label_w + cell_w * (j as f64 + 0.5),
            esc(c)
        );
    }
    for (i, r) in row_keys.iter().enumerate() {
        let y = 40.0 + cell_h * i as f64;
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + 12.0,
            esc(r)
        );
    }
    for k in 0..rows.len() {
        let (Some(i), Some(j)) = (
            row_keys.iter().position(|r| **r == rows[k]),
            col_keys.iter().position(|c| **c == cols[k]),
        ) else {
            continue;
        };
        let v = vals.get(k).copied().flatten();
        let fill = match v {
            None => "#eeeeee".to_string(),
            Some(v) => {
                let t = if max > 0.0 {
                    (v / max).clamp(0.0, 1.0)
                } else {
                    0.0
                };
                // From pale red (low) to deep green (high).
                let r = (230.0 - 180.0 * t) as u8;
                let g = (120.0 + 80.0 * t) as u8;
                let b = (110.0 - 40.0 * t) as u8;
                format!("#{r:02x}{g:02x}{b:02x}")
            }
        };
        let _ = write!(
            s,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{fill}\" stroke=\"#fff\"><title>{} {}: {}</title></rect>",
            label_w + cell_w * j as f64,
            40.0 + cell_h * i as f64,
            cell_w,
            cell_h,
            esc(&rows[k]),
            esc(&cols[k]),
            v.map(fmt_num).unwrap_or_default()
        );
    }
    s.push_str("</svg>");
    s
}
