//! Charts as SVG written by vigil: no JavaScript, nothing from another origin,
//! readable on a phone (they scale to the width; text stays in `viewBox`
//! units) and in print (plain fills, black text). Each has a `<title>` and a
//! `<desc>` tied to it by `aria-labelledby`; the page shows the table of its
//! numbers beside it.

mod grid;

pub use grid::grid_map;

use std::fmt::Write as _;

/// Escapes text for HTML and SVG (element content and quoted attributes).
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// What every chart carries for people who cannot see it.
pub struct Labels<'a> {
    /// Unique on the page (ids of `<title>` and `<desc>` derive from it).
    pub id: &'a str,
    pub title: &'a str,
    pub desc: &'a str,
    /// The axis of the values ("detentions").
    pub value_axis: &'a str,
    /// The axis of the categories ("month", "region").
    pub category_axis: &'a str,
}

fn open(out: &mut String, l: &Labels<'_>, width: u32, height: u32) {
    let _ = write!(
        out,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" preserveAspectRatio=\"xMinYMin meet\">\
         <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{desc}</desc>",
        id = esc(l.id),
        title = esc(l.title),
        desc = esc(l.desc),
    );
}

/// Ticks for an axis from 0 to `max`: 0 and up to four round steps.
fn ticks(max: u64) -> Vec<u64> {
    if max == 0 {
        return vec![0];
    }
    let raw = max.div_ceil(4).max(1);
    let mag = 10u64.pow(raw.ilog10());
    let step = [1, 2, 5, 10]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(raw);
    (0..=max / step).map(|i| i * step).collect()
}

/// Horizontal bars, one per category: reads well on a narrow screen because
/// the labels run along, not under, the bars.
pub fn bars(l: &Labels<'_>, items: &[(String, u64)]) -> String {
    const LABEL_W: u32 = 150;
    const BAR_W: u32 = 200;
    const ROW: u32 = 22;
    const TOP: u32 = 24;
    let n = u32::try_from(items.len()).unwrap_or(u32::MAX / ROW - 4);
    let width = LABEL_W + BAR_W + 50;
    let height = TOP + n * ROW + 34;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let mut out = String::new();
    open(&mut out, l, width, height);
    let scale = |v: u64| -> u32 {
        v.saturating_mul(u64::from(BAR_W))
            .checked_div(max)
            .map_or(0, |x| u32::try_from(x).unwrap_or(BAR_W))
    };
    for t in ticks(max) {
        let x = LABEL_W + scale(t);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{x}\" y1=\"{TOP}\" x2=\"{x}\" y2=\"{}\"/>\
             <text class=\"tick\" x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{t}</text>",
            TOP + n * ROW,
            TOP + n * ROW + 14
        );
    }
    for (i, (label, v)) in items.iter().enumerate() {
        let y = TOP + u32::try_from(i).unwrap_or(0) * ROW;
        let w = scale(*v);
        let short: String = if label.chars().count() > 24 {
            label.chars().take(23).chain(['…']).collect()
        } else {
            label.clone()
        };
        let _ = write!(
            out,
            "<text class=\"cat\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\
             <rect class=\"bar\" x=\"{LABEL_W}\" y=\"{}\" width=\"{w}\" height=\"{}\"><title>{}: {v}</title></rect>\
             <text class=\"val\" x=\"{}\" y=\"{}\">{v}</text>",
            LABEL_W - 6,
            y + 15,
            esc(&short),
            y + 3,
            ROW - 6,
            esc(label),
            LABEL_W + w + 4,
            y + 15,
        );
    }
    let _ = write!(
        out,
        "<text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
         <text class=\"axis\" x=\"{}\" y=\"14\" text-anchor=\"end\">{}</text></svg>",
        LABEL_W + BAR_W / 2,
        height - 4,
        esc(l.value_axis),
        LABEL_W - 6,
        esc(l.category_axis),
    );
    out
}

/// A time series as columns, one per period, oldest on the left; the axis
/// names every period when few, else every n-th.
pub fn columns(l: &Labels<'_>, items: &[(String, u64)]) -> String {
    const LEFT: u32 = 44;
    const TOP: u32 = 16;
    const PLOT_H: u32 = 180;
    let n = u32::try_from(items.len()).unwrap_or(1).max(1);
    let slot = (460 / n).clamp(4, 40);
    let width = LEFT + n * slot + 16;
    let height = TOP + PLOT_H + 52;
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0);
    let scale = |v: u64| -> u32 {
        v.saturating_mul(u64::from(PLOT_H))
            .checked_div(max)
            .map_or(0, |x| u32::try_from(x).unwrap_or(PLOT_H))
    };
    let mut out = String::new();
    open(&mut out, l, width, height);
    let base = TOP + PLOT_H;
    for t in ticks(max) {
        let y = base - scale(t);
        let _ = write!(
            out,
            "<line class=\"grid\" x1=\"{LEFT}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{t}</text>",
            LEFT + n * slot,
            LEFT - 4,
            y + 4
        );
    }
    let every = (items.len() / 12).max(1);
    for (i, (label, v)) in items.iter().enumerate() {
        let x = LEFT + u32::try_from(i).unwrap_or(0) * slot;
        let h = scale(*v);
        let _ = write!(
            out,
            "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{h}\"><title>{}: {v}</title></rect>",
            x + 1,
            base - h,
            slot.saturating_sub(2).max(1),
            esc(label),
        );
        if i % every == 0 {
            let cx = x + slot / 2;
            let _ = write!(
                out,
                "<text class=\"tick\" x=\"{cx}\" y=\"{}\" text-anchor=\"end\" transform=\"rotate(-45 {cx} {})\">{}</text>",
                base + 12,
                base + 12,
                esc(label)
            );
        }
    }
    let _ = write!(
        out,
        "<line class=\"axisline\" x1=\"{LEFT}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>\
         <text class=\"axis\" x=\"4\" y=\"10\">{}</text>\
         <text class=\"axis\" x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text></svg>",
        LEFT + n * slot,
        esc(l.value_axis),
        width - 4,
        height - 2,
        esc(l.category_axis),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Labels<'static> {
        Labels {
            id: "c",
            title: "Задержания <по> месяцам",
            desc: "d",
            value_axis: "detentions",
            category_axis: "month",
        }
    }

    #[test]
    fn ticks_are_round() {
        assert_eq!(ticks(0), vec![0]);
        assert_eq!(ticks(7), vec![0, 2, 4, 6]);
        assert_eq!(ticks(2037), vec![0, 1000, 2000]);
        assert_eq!(ticks(461), vec![0, 200, 400]);
    }

    #[test]
    fn charts_carry_title_desc_axes_and_escape() {
        for svg in [
            bars(&labels(), &[("Москва".into(), 1462), ("<b>".into(), 3)]),
            columns(&labels(), &[("2013-01".into(), 5), ("2013-02".into(), 0)]),
        ] {
            assert!(svg.starts_with("<svg"), "{svg}");
            assert!(svg.contains("aria-labelledby=\"c-title c-desc\""));
            assert!(svg.contains("<title id=\"c-title\">Задержания &lt;по&gt; месяцам</title>"));
            assert!(svg.contains(">detentions</text>") && svg.contains(">month</text>"));
            assert!(!svg.contains("<b>"));
            assert!(!svg.contains("<script") && !svg.contains("href"));
        }
    }

    #[test]
    fn the_largest_bar_is_full_width() {
        let svg = bars(&labels(), &[("a".into(), 10), ("b".into(), 5)]);
        assert!(svg.contains("width=\"200\""), "{svg}");
        assert!(svg.contains("width=\"100\""), "{svg}");
    }
}
