//! The report of the noisy XOR experiment ([`crate::missing::xor`]): tables, decision
//! surfaces and one page.
//!
//! | file | contents |
//! | --- | --- |
//! | `results.csv` | one row per (algo, input, seed, condition): every score |
//! | `alpha_selection.csv` | IL-prox's α candidates: mean validation NLL and accuracy |
//! | `curves.csv` | the first seed's `p(class 1)` with one feature missing, per model |
//! | `tables.md` | the summary and α tables, with the definitions |
//! | `surfaces_<algo>.{svg,png}` | per input mode: the surface over the grid, and the curves |
//! | `index.html` | everything on one self-contained page |
//!
//! The surface is drawn in [`LEVELS`] bands of `p(class 1)` (steps of 0.05, `p = 0.5`
//! white), one grid cell per point. In the PNG the cells are rectangles; the SVG embeds
//! each surface as a PNG raster of the grid, one pixel per cell, drawn where plotters put
//! a placeholder rectangle of a marker colour: thousands of SVG rectangles per panel
//! would make the page megabytes long.

use std::fs;
use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::ReportError;
use super::html::{Page, base64, page};
use super::plots::{
    DrawResult, PALETTE, RenderedPlot, draw_legend, file_stem, format_tick, register_font,
};
use super::png::encode_rgb;
use super::stats::MeanStd;
use super::tables::{Table, markdown};
use crate::data::Target;
use crate::missing::xor::{Condition, Scores, Surface, XorResults, XorRun};

/// Bands of the surface colour map: `p` rounded to a multiple of `1 / (LEVELS - 1)`.
pub const LEVELS: usize = 21;

/// Pixel size of a surface figure.
const SURFACE_SIZE: (u32, u32) = (1900, 840);

/// The blue end (`p = 0`) and red end (`p = 1`) of the diverging map.
const BLUE: (f64, f64, f64) = (33.0, 102.0, 172.0);
const RED: (f64, f64, f64) = (178.0, 24.0, 43.0);

/// The diverging colour of `p` in `[0, 1]`: blue → white (`p = 0.5`) → red.
pub fn diverging(p: f64) -> RGBColor {
    let p = p.clamp(0.0, 1.0);
    let (end, t) = if p < 0.5 { (BLUE, 1.0 - 2.0 * p) } else { (RED, 2.0 * p - 1.0) };
    let mix = |c: f64| (255.0 + (c - 255.0) * t).round() as u8;
    RGBColor(mix(end.0), mix(end.1), mix(end.2))
}

/// The band of `p`: `round(p · (LEVELS - 1))`.
fn level(p: f32) -> usize {
    ((f64::from(p).clamp(0.0, 1.0) * (LEVELS - 1) as f64).round() as usize).min(LEVELS - 1)
}

fn level_color(l: usize) -> RGBColor {
    diverging(l as f64 / (LEVELS - 1) as f64)
}

fn notes(r: &XorResults) -> Vec<String> {
    let c = &r.config;
    let mut notes = vec![
        format!(
            "Data per seed: {} points x ~ U[-1, 1]², label 1 when sign(x1) ≠ sign(x2) on the \
             clean point, then N(0, σ²) noise with σ = {} (SPEC.md's N(0, 0.25) read as the \
             standard deviation); the first half trains, the second half tests.",
            c.n, c.noise_std
        ),
        format!(
            "Training features have MCAR missingness at rate {} (about {:.0}% of the rows \
             lose one feature, {:.0}% both); test features are complete, then x1 or x2 is \
             removed from every test row.",
            c.train_missing_rate,
            200.0 * c.train_missing_rate * (1.0 - c.train_missing_rate),
            100.0 * c.train_missing_rate * c.train_missing_rate
        ),
        format!(
            "Network 2 → 4 tanh → 2 softmax with cross-entropy (two softmax logits are one \
             sigmoid unit on their difference), features standardised on the training \
             split's observed values, {} epochs at batch {}, seeds 0..{}.",
            c.epochs, c.batch, c.seeds
        ),
        "With one feature missing the Bayes answer is p = 0.5 for every row: accuracy 0.5 \
         and |2p - 1| = 0 are the targets there; a model that is decisive yet at chance \
         accuracy is confidently wrong, which ECE shows."
            .into(),
        "Cells: mean ± sample std over the seeds whose run finished. decisiveness is the \
         mean of |2p - 1| over the test rows (0 = always 0.5); ECE uses 10 equal-width bins of the top-label \
         confidence."
            .into(),
        "zero and mean imputation coincide here: features are standardised before the input \
         mode, so a zero fill is a fill with the training mean."
            .into(),
        "Surfaces: the first seed's models; colour bands of p(class 1) in steps of 0.05, \
         white at 0.5; dots are that seed's test points (filled: class 1, open: class 0)."
            .into(),
    ];
    if r.alpha_trials.is_empty() {
        notes.push(format!("IL-prox ran with α = {} (no selection).", r.alpha));
    } else {
        let tried: Vec<String> = r.alpha_trials.iter().map(|t| t.alpha.to_string()).collect();
        notes.push(format!(
            "IL-prox's α was chosen among {} by the mean validation NLL over every input mode \
             and seed (each training half split {:.0}/{:.0}, the validation rows carrying the \
             same MCAR mask): α = {}. ε is the preset's 0.25; BP-SGD keeps lr {}.",
            tried.join(", "),
            100.0 * (1.0 - c.validation_fraction),
            100.0 * c.validation_fraction,
            r.alpha,
            c.bp_lr
        ));
    }
    notes
}

/// The rows of a summary: (algo label, input, the runs of that pair).
fn groups(r: &XorResults) -> Vec<(String, String, Vec<&XorRun>)> {
    let mut out: Vec<(String, String, Vec<&XorRun>)> = Vec::new();
    for run in &r.runs {
        let algo = format!("{} {}", run.algo.name, run.algo.lr);
        let input = run.input.to_string();
        match out.iter_mut().find(|g| g.0 == algo && g.1 == input) {
            Some(g) => g.2.push(run),
            None => out.push((algo, input, vec![run])),
        }
    }
    out
}

fn stat(runs: &[&XorRun], c: Condition, f: fn(&Scores) -> f64) -> Option<MeanStd> {
    let i = Condition::ALL.iter().position(|&x| x == c).expect("a condition");
    let v: Vec<f64> =
        runs.iter().filter_map(|r| r.outcome.as_ref().ok()).map(|s| f(&s[i])).collect();
    MeanStd::of(&v)
}

fn cell(m: Option<MeanStd>) -> String {
    m.map_or("–".into(), |m| format!("{:.3} ± {:.3}", m.mean, m.std))
}

/// A summary column: its heading, the test condition and the score it shows.
type Column = (&'static str, Condition, fn(&Scores) -> f64);

const SUMMARY_COLUMNS: [Column; 8] = [
    ("accuracy complete", Condition::Complete, |s| s.accuracy),
    ("accuracy x1 missing", Condition::X1Missing, |s| s.accuracy),
    ("accuracy x2 missing", Condition::X2Missing, |s| s.accuracy),
    ("decisiveness complete", Condition::Complete, |s| s.decisiveness),
    ("decisiveness x1 missing", Condition::X1Missing, |s| s.decisiveness),
    ("decisiveness x2 missing", Condition::X2Missing, |s| s.decisiveness),
    ("ECE x1 missing", Condition::X1Missing, |s| s.ece),
    ("ECE x2 missing", Condition::X2Missing, |s| s.ece),
];

fn summary_table(r: &XorResults) -> Table {
    let mut columns = vec!["algo (lr or α)".to_string(), "input".into(), "seeds".into()];
    columns.extend(SUMMARY_COLUMNS.iter().map(|c| c.0.to_string()));
    let rows = groups(r)
        .into_iter()
        .map(|(algo, input, runs)| {
            let ok = runs.iter().filter(|r| r.outcome.is_ok()).count();
            let seeds = if ok == runs.len() {
                ok.to_string()
            } else {
                format!("{ok} ({} failed)", runs.len() - ok)
            };
            let mut row = vec![algo, input, seeds];
            row.extend(SUMMARY_COLUMNS.iter().map(|&(_, c, f)| cell(stat(&runs, c, f))));
            row
        })
        .collect();
    Table {
        title: "Test scores with complete inputs and with one feature missing".into(),
        caption: "Mean ± std over seeds. With a feature missing the ideal is accuracy 0.5 and \
                  decisiveness 0 (p = 0.5, \"I don't know\")."
            .into(),
        columns,
        rows,
    }
}

fn alpha_table(r: &XorResults) -> Table {
    let rows = r
        .alpha_trials
        .iter()
        .map(|t| {
            vec![
                t.alpha.to_string(),
                format!("{:.4}", t.nll),
                format!("{:.4}", t.accuracy),
                format!("{}/{}", t.fits, t.fits + t.failed),
                if t.alpha == r.alpha { "chosen".into() } else { String::new() },
            ]
        })
        .collect();
    Table {
        title: "IL-prox: choosing α on the validation split".into(),
        caption: "Mean over input modes and seeds; the lowest NLL wins.".into(),
        columns: ["α", "validation NLL", "validation accuracy", "fits finished", ""]
            .map(String::from)
            .to_vec(),
        rows,
    }
}

fn write_file(path: &Path, text: &str) -> Result<PathBuf, ReportError> {
    fs::write(path, text).map_err(|source| ReportError::Write { path: path.into(), source })?;
    Ok(path.to_path_buf())
}

fn num(v: f64) -> String {
    if v.is_finite() { format!("{v}") } else { String::new() }
}

fn results_csv(r: &XorResults) -> String {
    let mut s = String::from(
        "algo,lr,input,seed,condition,status,accuracy,auc,nll,ece,decisiveness,mean_p1,\
         wall_s,message\n",
    );
    for run in &r.runs {
        let head = format!("{},{},{},{}", run.algo.name, run.algo.lr, run.input, run.seed);
        for (i, c) in Condition::ALL.iter().enumerate() {
            let (status, scores, message) = match &run.outcome {
                Ok(sc) => ("ok", Some(sc[i]), String::new()),
                Err(e) => ("failed", None, e.replace('"', "'")),
            };
            let f = |g: fn(&Scores) -> f64| scores.as_ref().map_or(String::new(), |s| num(g(s)));
            s.push_str(&format!(
                "{head},{},{status},{},{},{},{},{},{},{:.3},\"{message}\"\n",
                c.name(),
                f(|s| s.accuracy),
                f(|s| s.auc),
                f(|s| s.nll),
                f(|s| s.ece),
                f(|s| s.decisiveness),
                f(|s| s.mean_p1),
                run.wall_s
            ));
        }
    }
    s
}

fn alpha_csv(r: &XorResults) -> String {
    let mut s = String::from("alpha,validation_nll,validation_accuracy,fits,failed,chosen\n");
    for t in &r.alpha_trials {
        s.push_str(&format!(
            "{},{},{},{},{},{}\n",
            t.alpha,
            num(t.nll),
            num(t.accuracy),
            t.fits,
            t.failed,
            t.alpha == r.alpha
        ));
    }
    s
}

fn curves_csv(r: &XorResults) -> String {
    let axis = r.config.axis();
    let mut s = String::from("algo,lr,input,seed,observed,value,p1\n");
    for sf in &r.surfaces {
        for (observed, curve) in [("x1", &sf.x1_curve), ("x2", &sf.x2_curve)] {
            for (v, p) in axis.iter().zip(curve.iter()) {
                s.push_str(&format!(
                    "{},{},{},{},{observed},{},{p}\n",
                    sf.algo.name,
                    sf.algo.lr,
                    sf.input,
                    sf.seed,
                    format_tick(*v)
                ));
            }
        }
    }
    s
}

/// What one surface figure draws: the surfaces of one algorithm and the test points.
struct SurfaceFigure<'a> {
    title: String,
    surfaces: Vec<&'a Surface>,
    axis: Vec<f64>,
    extent: f64,
    /// `(x1, x2, label)` of the test points inside the grid.
    points: Vec<(f64, f64, u32)>,
}

/// The placeholder colour of panel `k`'s surface in the SVG.
fn marker(k: usize) -> RGBColor {
    RGBColor(1, 2, k as u8)
}

/// Draws the surface as rectangles of equal bands along each grid row, or, when
/// `placeholder` is given, one rectangle of that colour over the whole plotting area.
fn draw_heatmap<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &SurfaceFigure,
    s: &Surface,
    placeholder: Option<RGBColor>,
) -> DrawResult<DB> {
    let e = fig.extent;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{}: complete inputs", s.input), ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(-e..e, -e..e)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("x1")
        .y_desc("x2")
        .x_labels(7)
        .y_labels(7)
        .x_label_formatter(&|v| format_tick(*v))
        .y_label_formatter(&|v| format_tick(*v))
        .label_style(("sans-serif", 13))
        .draw()?;

    let m = fig.axis.len();
    let half = if m > 1 { (fig.axis[1] - fig.axis[0]) / 2.0 } else { e };
    let mut rects = Vec::new();
    if let Some(color) = placeholder {
        rects.push(Rectangle::new([(-e, -e), (e, e)], color.filled()));
    }
    for j in (0..m).filter(|_| placeholder.is_none()) {
        let row = &s.grid[j * m..(j + 1) * m];
        let mut i = 0;
        while i < m {
            let l = level(row[i]);
            let mut k = i;
            while k + 1 < m && level(row[k + 1]) == l {
                k += 1;
            }
            let (x0, x1) = ((fig.axis[i] - half).max(-e), (fig.axis[k] + half).min(e));
            let (y0, y1) = ((fig.axis[j] - half).max(-e), (fig.axis[j] + half).min(e));
            rects.push(Rectangle::new([(x0, y0), (x1, y1)], level_color(l).filled()));
            i = k + 1;
        }
    }
    chart.draw_series(rects)?;
    let grey = RGBColor(120, 120, 120);
    chart.draw_series([
        PathElement::new(vec![(-e, 0.0), (e, 0.0)], grey.stroke_width(1)),
        PathElement::new(vec![(0.0, -e), (0.0, e)], grey.stroke_width(1)),
    ])?;
    chart.draw_series(fig.points.iter().map(|&(x1, x2, label)| {
        let style = if label == 1 { BLACK.filled() } else { BLACK.stroke_width(1) };
        Circle::new((x1, x2), 2, style)
    }))?;
    Ok(())
}

fn draw_curves<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    fig: &SurfaceFigure,
    s: &Surface,
    legend: bool,
) -> DrawResult<DB> {
    let e = fig.extent;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("{}: one feature missing", s.input), ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(-e..e, 0f64..1f64)?;
    chart
        .configure_mesh()
        .x_desc("value of the observed feature")
        .y_desc("p(class 1)")
        .x_labels(7)
        .max_light_lines(0)
        .x_label_formatter(&|v| format_tick(*v))
        .y_label_formatter(&|v| format_tick(*v))
        .label_style(("sans-serif", 13))
        .draw()?;
    let bayes = RGBColor(90, 90, 90);
    chart
        .draw_series(DashedLineSeries::new([(-e, 0.5), (e, 0.5)], 6, 4, bayes.stroke_width(2)))?
        .label("Bayes: 0.5")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], bayes.stroke_width(2)));
    for (label, curve, color) in [
        ("p(1 | x1), x2 missing", &s.x1_curve, PALETTE[0]),
        ("p(1 | x2), x1 missing", &s.x2_curve, PALETTE[3]),
    ] {
        let points = fig.axis.iter().zip(curve.iter()).map(|(&v, &p)| (v, f64::from(p)));
        chart.draw_series(LineSeries::new(points, color.stroke_width(2)))?.label(label).legend(
            move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2)),
        );
    }
    if legend {
        draw_legend(&mut chart, SeriesLabelPosition::UpperLeft, 13)?;
    }
    Ok(())
}

fn draw_color_bar<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let mut chart = ChartBuilder::on(area)
        .margin_top(60)
        .margin_bottom(60)
        .margin_left(10)
        .margin_right(60)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_labels(5)
        .y_desc("p(class 1)")
        .y_label_formatter(&|v| format_tick(*v))
        .label_style(("sans-serif", 13))
        .draw()?;
    let step = 1.0 / (LEVELS - 1) as f64;
    chart.draw_series((0..LEVELS).map(|l| {
        let c = l as f64 * step;
        let (y0, y1) = ((c - step / 2.0).max(0.0), (c + step / 2.0).min(1.0));
        Rectangle::new([(0.0, y0), (1.0, y1)], level_color(l).filled())
    }))?;
    Ok(())
}

impl SurfaceFigure<'_> {
    /// Draws the figure; `placeholders`: the surfaces as marker rectangles (for the SVG).
    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, Shift>,
        placeholders: bool,
    ) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let root = root.titled(&self.title, ("sans-serif", 22))?;
        let (main, bar) = root.split_horizontally(SURFACE_SIZE.0 - 160);
        let cols = self.surfaces.len().max(1);
        for (c, column) in main.split_evenly((1, cols)).iter().enumerate() {
            let Some(s) = self.surfaces.get(c) else { continue };
            let (top, bottom) = column.split_vertically(460);
            draw_heatmap(&top, self, s, placeholders.then(|| marker(c)))?;
            draw_curves(&bottom, self, s, c == 0)?;
        }
        draw_color_bar(&bar)?;
        root.present()
    }
}

/// The surface as a PNG raster, one pixel per grid point, `x2` decreasing down the rows.
fn surface_png(s: &Surface, m: usize) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(m * m * 3);
    for j in (0..m).rev() {
        for &p in &s.grid[j * m..(j + 1) * m] {
            let c = level_color(level(p));
            rgb.extend_from_slice(&[c.0, c.1, c.2]);
        }
    }
    encode_rgb(m as u32, m as u32, &rgb)
}

/// The value of attribute `name` in one SVG element's text.
fn attribute<'a>(element: &'a str, name: &str) -> Option<&'a str> {
    let at = element.find(&format!(" {name}=\""))? + name.len() + 3;
    element[at..].split('"').next()
}

/// Replaces the placeholder rectangle of marker colour `color` in `svg` by `image` (PNG
/// bytes) stretched over the same pixels.
fn splice_image(svg: &mut String, color: RGBColor, image: &[u8]) -> Option<()> {
    let fill = format!("fill=\"#{:02X}{:02X}{:02X}\"", color.0, color.1, color.2);
    let at = svg.find(&fill)?;
    let start = svg[..at].rfind("<rect")?;
    let end = at + svg[at..].find("/>")? + 2;
    let rect = &svg[start..end];
    let (x, y) = (attribute(rect, "x")?, attribute(rect, "y")?);
    let (w, h) = (attribute(rect, "width")?, attribute(rect, "height")?);
    let element = format!(
        "<image x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" \
         preserveAspectRatio=\"none\" style=\"image-rendering:pixelated\" \
         href=\"data:image/png;base64,{}\"/>",
        base64(image)
    );
    svg.replace_range(start..end, &element);
    Some(())
}

fn render_surfaces(
    fig: &SurfaceFigure,
    out: &Path,
    stem: &str,
) -> Result<RenderedPlot, ReportError> {
    let svg_path = out.join(format!("{stem}.svg"));
    let png_path = out.join(format!("{stem}.png"));
    let plot_err = |path: &Path, e: String| ReportError::Plot { path: path.into(), message: e };
    let mut svg = String::new();
    fig.draw(SVGBackend::with_string(&mut svg, SURFACE_SIZE).into_drawing_area(), true)
        .map_err(|e| plot_err(&svg_path, e.to_string()))?;
    for (k, s) in fig.surfaces.iter().enumerate() {
        splice_image(&mut svg, marker(k), &surface_png(s, fig.axis.len()))
            .ok_or_else(|| plot_err(&svg_path, format!("no placeholder for surface {k}")))?;
    }
    write_file(&svg_path, &svg)?;

    let (w, h) = SURFACE_SIZE;
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    fig.draw(BitMapBackend::with_buffer(&mut rgb, SURFACE_SIZE).into_drawing_area(), false)
        .map_err(|e| plot_err(&png_path, e.to_string()))?;
    fs::write(&png_path, encode_rgb(w, h, &rgb))
        .map_err(|source| ReportError::Write { path: png_path.clone(), source })?;
    Ok(RenderedPlot { title: fig.title.clone(), svg_path, png_path, svg })
}

fn surface_figures(r: &XorResults, out: &Path) -> Result<Vec<RenderedPlot>, ReportError> {
    let e = r.config.extent;
    let t = &r.test_points;
    let labels: &[u32] = match &t.target {
        Target::Classes { labels, .. } => labels,
        Target::Values { .. } => &[],
    };
    let points: Vec<(f64, f64, u32)> = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| (f64::from(t.x[2 * i]), f64::from(t.x[2 * i + 1]), l))
        .filter(|p| p.0.abs() <= e && p.1.abs() <= e)
        .collect();
    let mut algos: Vec<(String, f64)> = Vec::new();
    for s in &r.surfaces {
        let key = (s.algo.name.to_string(), s.algo.lr);
        if !algos.contains(&key) {
            algos.push(key);
        }
    }
    let mut plots = Vec::new();
    for (algo, lr) in algos {
        let surfaces: Vec<&Surface> = r
            .surfaces
            .iter()
            .filter(|s| s.algo.name.to_string() == algo && s.algo.lr == lr)
            .collect();
        let seed = surfaces.first().map_or(0, |s| s.seed);
        let what = if algo.contains("prox") { "α" } else { "lr" };
        let fig = SurfaceFigure {
            title: format!(
                "{algo} ({what} {lr}), seed {seed}: p(class 1) over the plane with complete \
                 inputs (top) and along one feature with the other missing (bottom)"
            ),
            surfaces,
            axis: r.config.axis(),
            extent: e,
            points: points.clone(),
        };
        plots.push(render_surfaces(&fig, out, &format!("surfaces_{}", file_stem(&algo)))?);
    }
    Ok(plots)
}

/// Writes the report of `results` into `out` (created if missing); returns the page's path.
pub fn write_xor_report(results: &XorResults, out: &Path) -> Result<PathBuf, ReportError> {
    fs::create_dir_all(out).map_err(|source| ReportError::Write { path: out.into(), source })?;
    register_font()?;
    let notes = notes(results);
    let note_refs: Vec<&str> = notes.iter().map(String::as_str).collect();
    let mut tables = vec![summary_table(results)];
    if !results.alpha_trials.is_empty() {
        tables.push(alpha_table(results));
    }
    write_file(&out.join("tables.md"), &markdown(&tables, &note_refs))?;
    write_file(&out.join("results.csv"), &results_csv(results))?;
    write_file(&out.join("alpha_selection.csv"), &alpha_csv(results))?;
    write_file(&out.join("curves.csv"), &curves_csv(results))?;
    let plots = surface_figures(results, out)?;
    let html = page(&Page {
        notes: &note_refs,
        tables: &tables,
        plots: &plots,
        n_runs: results.runs.len(),
        skipped: &[],
    });
    write_file(&out.join("index.html"), &html)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The colour map is white at 0.5 and reaches its two ends at 0 and 1; the bands put
    /// 0.5 in a band of its own.
    #[test]
    fn diverging_map_is_white_at_one_half() {
        assert_eq!(diverging(0.5), RGBColor(255, 255, 255));
        assert_eq!(diverging(0.0), RGBColor(33, 102, 172));
        assert_eq!(diverging(1.0), RGBColor(178, 24, 43));
        assert_eq!(level(0.5), (LEVELS - 1) / 2);
        assert_ne!(level(0.53), level(0.5));
        assert_eq!(level(-1.0), 0);
        assert_eq!(level(2.0), LEVELS - 1);
    }
}
