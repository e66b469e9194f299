//! The report's figures, drawn with plotters to SVG and PNG.
//!
//! Per data set:
//! - *stability*: final test accuracy (seed mean, ±1 std error bars) against the learning
//!   rate on a log10 axis, one line per algorithm; a setting with diverged seeds gets an X
//!   at accuracy 0 labelled with how many of its seeds diverged; algorithms are dodged
//!   sideways by [`DODGE_DECADES`] so equal values stay visible;
//! - *accuracy* and *loss*: test accuracy or test loss against step for each algorithm at
//!   its chosen learning rate, seed mean with a ±1 std band, over the whole run and over
//!   the first [`EARLY_STEPS`] steps.
//!
//! Text in PNGs is rendered with the embedded DejaVu Sans (see `assets/fonts/README.md`),
//! registered once as the `sans-serif` family; SVGs name `sans-serif` and let the viewer
//! pick its font.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ReportError;
use super::stats::{CurvePoint, SettingStats, SweepStats};

/// The early-training window of the second accuracy and loss figures.
pub const EARLY_STEPS: u64 = 2_000;

/// Sideways offset between algorithms in the stability figure, in decades of lr.
pub const DODGE_DECADES: f64 = 0.02;

/// The stability figure's lr axis spans at least this many decades.
const MIN_DECADES: f64 = 3.0;

/// Pixel size of every figure.
pub(super) const SIZE: (u32, u32) = (960, 600);

static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Distinct colours, one per algorithm (in sorted order of all algorithms in the report, so
/// an algorithm keeps its colour across figures).
pub(super) const PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// A figure written to disk in both formats.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedPlot {
    /// Title shown on the figure.
    pub title: String,
    /// The SVG file.
    pub svg_path: PathBuf,
    /// The PNG file.
    pub png_path: PathBuf,
    /// The SVG text, for embedding.
    pub svg: String,
}

/// Which metric a curve figure shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveMetric {
    /// Test accuracy in [0, 1].
    Accuracy,
    /// The proper test loss.
    Loss,
}

/// One line of a curve figure: an algorithm at its chosen lr.
struct CurveLine<'a> {
    label: String,
    color: RGBColor,
    points: &'a [CurvePoint],
}

/// One line of the stability figure: an algorithm across learning rates.
struct StabilityLine<'a> {
    label: String,
    color: RGBColor,
    settings: Vec<&'a SettingStats>,
}

enum Figure<'a> {
    Stability { title: String, lines: Vec<StabilityLine<'a>> },
    Curves { title: String, metric: CurveMetric, max_step: Option<u64>, lines: Vec<CurveLine<'a>> },
}

pub(super) fn register_font() -> Result<(), ReportError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, FONT).is_ok()
    });
    if ok { Ok(()) } else { Err(ReportError::Font) }
}

/// Draws every figure of the report into `out`, returning them in page order.
pub fn write_plots(stats: &SweepStats, out: &Path) -> Result<Vec<RenderedPlot>, ReportError> {
    register_font()?;
    let algos = stats.algos();
    let color_of = |algo: &str| {
        let i = algos.iter().position(|a| *a == algo).unwrap_or(0);
        PALETTE[i % PALETTE.len()]
    };

    let mut plots = Vec::new();
    let mut stems = std::collections::HashSet::new();
    for data in stats.data_sets() {
        // Two names that differ only in unsafe characters would share files; number them.
        let mut stem = file_stem(data);
        let mut k = 2;
        while !stems.insert(stem.clone()) {
            stem = format!("{}_{k}", file_stem(data));
            k += 1;
        }

        let mut lines: Vec<StabilityLine> = Vec::new();
        for s in stats.settings.iter().filter(|s| s.data == data) {
            match lines.last_mut() {
                Some(line) if line.label == s.algo => line.settings.push(s),
                _ => lines.push(StabilityLine {
                    label: s.algo.clone(),
                    color: color_of(&s.algo),
                    settings: vec![s],
                }),
            }
        }
        let title = format!("{data}: final test accuracy against learning rate");
        let fig = Figure::Stability { title, lines };
        plots.push(render(&fig, out, &format!("stability_{stem}"))?);

        for metric in [CurveMetric::Accuracy, CurveMetric::Loss] {
            for max_step in [None, Some(EARLY_STEPS)] {
                let lines = stats
                    .chosen_for(data)
                    .map(|s| CurveLine {
                        label: format!("{} (lr {}, {} seeds)", s.algo, s.lr, s.n_seeds()),
                        color: color_of(&s.algo),
                        points: match metric {
                            CurveMetric::Accuracy => &s.accuracy_curve,
                            CurveMetric::Loss => &s.loss_curve,
                        },
                    })
                    .collect();
                let (name, what) = match metric {
                    CurveMetric::Accuracy => ("accuracy", "test accuracy"),
                    CurveMetric::Loss => ("loss", "test loss"),
                };
                let (suffix, window) = match max_step {
                    None => (String::new(), String::new()),
                    Some(k) => (format!("_first{k}"), format!(", first {k} steps")),
                };
                let title = format!("{data}: {what} at the chosen lr{window}");
                let fig = Figure::Curves { title, metric, max_step, lines };
                plots.push(render(&fig, out, &format!("{name}_{stem}{suffix}"))?);
            }
        }
    }
    Ok(plots)
}

/// A data-set name made safe for a file name.
pub(super) fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .collect()
}

/// A tick value to three significant digits, without trailing zeros (`0.3`, not
/// `0.30000000000000004`).
pub(super) fn format_tick(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let decimals = (2.0 - x.abs().log10().floor()).max(0.0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

fn render(fig: &Figure, out: &Path, stem: &str) -> Result<RenderedPlot, ReportError> {
    let svg_path = out.join(format!("{stem}.svg"));
    let png_path = out.join(format!("{stem}.png"));
    let plot_err = |path: &Path, e: String| ReportError::Plot { path: path.into(), message: e };

    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        fig.draw(&root).map_err(|e| plot_err(&svg_path, e.to_string()))?;
        root.present().map_err(|e| plot_err(&svg_path, e.to_string()))?;
    }
    std::fs::write(&svg_path, &svg)
        .map_err(|source| ReportError::Write { path: svg_path.clone(), source })?;

    {
        let root = BitMapBackend::new(&png_path, SIZE).into_drawing_area();
        fig.draw(&root).map_err(|e| plot_err(&png_path, e.to_string()))?;
        root.present().map_err(|e| plot_err(&png_path, e.to_string()))?;
    }

    Ok(RenderedPlot { title: fig.title().to_string(), svg_path, png_path, svg })
}

/// The legend of every figure: the labelled series in a translucent box at `position`.
pub(super) fn draw_legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
    font_size: u32,
) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(("sans-serif", font_size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
}

pub(super) type DrawResult<DB> =
    Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

impl Figure<'_> {
    fn title(&self) -> &str {
        match self {
            Figure::Stability { title, .. } | Figure::Curves { title, .. } => title,
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        match self {
            Figure::Stability { title, lines } => draw_stability(root, title, lines),
            Figure::Curves { title, metric, max_step, lines } => {
                draw_curves(root, title, *metric, *max_step, lines)
            }
        }
    }
}

fn draw_stability<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    lines: &[StabilityLine],
) -> DrawResult<DB> {
    let lrs = lines.iter().flat_map(|l| l.settings.iter().map(|s| s.lr));
    let (lo, hi) = lrs.fold((f64::INFINITY, 0.0f64), |(lo, hi), lr| (lo.min(lr), hi.max(lr)));
    let (lo, hi) = if lo.is_finite() { (lo / 2.0, hi * 2.0) } else { (0.01, 100.0) };
    // Narrow log ranges get crowded, unreadable tick labels; show at least
    // MIN_DECADES decades around the data.
    let (lo, hi) = {
        let spread = (hi / lo).log10();
        let widen = 10f64.powf(((MIN_DECADES - spread) / 2.0).max(0.0));
        (lo / widen, hi * widen)
    };

    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .margin_right(40)
        .x_label_area_size(50)
        .y_label_area_size(64)
        .build_cartesian_2d((lo..hi).log_scale(), -0.04f64..1.04f64)?;
    chart
        .configure_mesh()
        .x_desc("learning rate (α for prox algorithms), log scale")
        .y_desc("final test accuracy (mean ± std over seeds)")
        .x_label_formatter(&|x| format_tick(*x))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()?;

    let center = (lines.len() as f64 - 1.0) / 2.0;
    for (i, line) in lines.iter().enumerate() {
        let color = line.color;
        // Dodge: shift each algorithm sideways by a few hundredths of a decade, so that
        // algorithms with equal values at one lr (all diverged, say) stay visible.
        let factor = 10f64.powf(DODGE_DECADES * (i as f64 - center));
        let x = |s: &SettingStats| s.lr * factor;
        let points: Vec<(f64, f64)> =
            line.settings.iter().map(|s| (x(s), s.final_accuracy.mean)).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), color.stroke_width(2)))?
            .label(line.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        chart.draw_series(line.settings.iter().map(|s| {
            let m = s.final_accuracy;
            let (low, high) = ((m.mean - m.std).max(0.0), (m.mean + m.std).min(1.0));
            ErrorBar::new_vertical(x(s), low, m.mean, high, color.stroke_width(2), 10)
        }))?;

        let diverged: Vec<&&SettingStats> =
            line.settings.iter().filter(|s| s.diverged > 0).collect();
        chart.draw_series(
            diverged.iter().map(|s| Cross::new((x(s), 0.0), 8, color.stroke_width(3))),
        )?;
        chart.draw_series(diverged.iter().map(|s| {
            let text = format!("{}/{}", s.diverged, s.n_seeds());
            let y = 0.05 + 0.035 * i as f64;
            Text::new(text, (x(s), y), ("sans-serif", 14).into_font().color(&color))
        }))?;
    }
    if lines.iter().any(|l| l.settings.iter().any(|s| s.diverged > 0)) {
        // An empty series whose only job is the legend entry for the X markers.
        chart
            .draw_series(std::iter::empty::<Cross<(f64, f64), i32>>())?
            .label("× at 0: seeds diverged (k/n)")
            .legend(|(x, y)| Cross::new((x + 12, y), 6, BLACK.stroke_width(2)));
    }
    draw_legend(&mut chart, SeriesLabelPosition::LowerLeft, 15)
}

fn draw_curves<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    metric: CurveMetric,
    max_step: Option<u64>,
    lines: &[CurveLine],
) -> DrawResult<DB> {
    let in_window = |p: &&CurvePoint| max_step.is_none_or(|k| p.step <= k);
    let shown = || lines.iter().flat_map(|l| l.points.iter().filter(in_window));
    let last_step = shown().map(|p| p.step).max().unwrap_or(0);
    let x_hi = max_step.unwrap_or(last_step).max(1) as f64;

    let (y_lo, y_hi) = match metric {
        CurveMetric::Accuracy => (0.0, 1.0),
        CurveMetric::Loss => {
            let (lo, hi) = shown().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.mean - p.std), hi.max(p.mean + p.std))
            });
            if lo.is_finite() && hi.is_finite() && hi > lo {
                let pad = 0.05 * (hi - lo);
                ((lo - pad).max(0.0), hi + pad)
            } else if lo.is_finite() {
                ((lo - 0.5).max(0.0), lo + 0.5)
            } else {
                (0.0, 1.0)
            }
        }
    };
    let y_desc = match metric {
        CurveMetric::Accuracy => "test accuracy (mean, band ±1 std over seeds)",
        CurveMetric::Loss => "test loss (mean, band ±1 std over seeds)",
    };

    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .margin_right(40)
        .x_label_area_size(50)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..x_hi, y_lo..y_hi)?;
    chart
        .configure_mesh()
        .x_desc("training step")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc(y_desc)
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()?;

    let clamp = |v: f64| v.clamp(y_lo, y_hi);
    for line in lines {
        let color = line.color;
        let points: Vec<&CurvePoint> = line.points.iter().filter(in_window).collect();
        let mut band: Vec<(f64, f64)> =
            points.iter().map(|p| (p.step as f64, clamp(p.mean + p.std))).collect();
        band.extend(points.iter().rev().map(|p| (p.step as f64, clamp(p.mean - p.std))));
        if !band.is_empty() {
            chart.draw_series(std::iter::once(Polygon::new(band, color.mix(0.2).filled())))?;
        }
        let mean: Vec<(f64, f64)> = points.iter().map(|p| (p.step as f64, clamp(p.mean))).collect();
        chart
            .draw_series(LineSeries::new(mean, color.stroke_width(2)))?
            .label(line.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
    }
    let position = match metric {
        CurveMetric::Accuracy => SeriesLabelPosition::LowerRight,
        CurveMetric::Loss => SeriesLabelPosition::UpperRight,
    };
    draw_legend(&mut chart, position, 15)
}

#[cfg(test)]
mod tests {
    use super::format_tick;

    /// Float noise from the log axis never reaches a label.
    #[test]
    fn ticks_show_three_significant_digits() {
        let cases = [
            (0.30000000000000004, "0.3"),
            (0.01, "0.01"),
            (2.5, "2.5"),
            (100.0, "100"),
            (1e-5, "0.00001"),
            (12345.0, "12345"),
        ];
        for (x, want) in cases {
            assert_eq!(format_tick(x), want, "tick {x}");
        }
    }
}
