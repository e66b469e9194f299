//! The report's two tables, as Markdown, CSV and HTML.
//!
//! - *settings*: one row per `(data, algo, lr)`, every statistic of [`SettingStats`];
//! - *chosen*: one row per `(data, algo)`, the statistics at its chosen learning rate.
//!
//! Markdown and HTML show `mean ± std` rounded for reading; the CSV files keep full
//! precision with mean and std in separate columns, for other tools.

use std::path::Path;

use super::ReportError;
use super::stats::{MeanStd, SettingStats, SweepStats};

/// A table ready for display: a title, a header row and text cells.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Heading shown above the table.
    pub title: String,
    /// One line saying what a row is.
    pub caption: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// Rows of cells, each as long as `columns`.
    pub rows: Vec<Vec<String>>,
}

const STAT_COLUMNS: [&str; 8] = [
    "seeds",
    "max accuracy",
    "final accuracy",
    "convergence step",
    "update norm mean",
    "update norm std",
    "update norm max",
    "diverged",
];

const STAT_CSV_COLUMNS: [&str; 11] = [
    "n_seeds",
    "max_accuracy_mean",
    "max_accuracy_std",
    "final_accuracy_mean",
    "final_accuracy_std",
    "convergence_step",
    "update_norm_mean",
    "update_norm_std",
    "update_norm_max",
    "diverged",
    "seeds",
];

/// The table of every setting.
pub fn settings_table(stats: &SweepStats) -> Table {
    let mut columns = vec!["data".to_string(), "algo".into(), "lr".into()];
    columns.extend(STAT_COLUMNS.iter().map(|c| c.to_string()));
    let rows = stats
        .settings
        .iter()
        .map(|s| {
            let mut row = vec![s.data.clone(), s.algo.clone(), format_lr(s.lr)];
            row.extend(stat_cells(s));
            row
        })
        .collect();
    Table {
        title: "All settings".into(),
        caption: "One row per (data, algo, lr); seeds are the replicates.".into(),
        columns,
        rows,
    }
}

/// The table of the chosen learning rate of each `(data, algo)`.
pub fn chosen_table(stats: &SweepStats) -> Table {
    let mut columns =
        vec!["data".to_string(), "algo".into(), "chosen lr".into(), "lrs compared".into()];
    columns.extend(STAT_COLUMNS.iter().map(|c| c.to_string()));
    let rows = stats
        .chosen
        .iter()
        .map(|c| {
            let s = &stats.settings[c.setting];
            let mut row =
                vec![s.data.clone(), s.algo.clone(), format_lr(s.lr), c.n_lrs.to_string()];
            row.extend(stat_cells(s));
            row
        })
        .collect();
    Table {
        title: "Chosen learning rates".into(),
        caption: "Per (data, algo), the lr with the highest seed-mean final accuracy \
                  (diverged runs count as 0; the smaller lr on ties)."
            .into(),
        columns,
        rows,
    }
}

fn stat_cells(s: &SettingStats) -> Vec<String> {
    vec![
        s.n_seeds().to_string(),
        s.max_accuracy.map_or("–".into(), format_mean_std),
        format_mean_std(s.final_accuracy),
        s.convergence_step.map_or("–".into(), |k| k.to_string()),
        format_opt(s.update_norm_mean),
        format_opt(s.update_norm_std),
        format_opt(s.update_norm_max),
        format!("{}/{}", s.diverged, s.n_seeds()),
    ]
}

fn stat_csv_cells(s: &SettingStats) -> Vec<String> {
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    vec![
        s.n_seeds().to_string(),
        opt(s.max_accuracy.map(|m| m.mean)),
        opt(s.max_accuracy.map(|m| m.std)),
        s.final_accuracy.mean.to_string(),
        s.final_accuracy.std.to_string(),
        s.convergence_step.map_or(String::new(), |k| k.to_string()),
        opt(s.update_norm_mean),
        opt(s.update_norm_std),
        opt(s.update_norm_max),
        s.diverged.to_string(),
        s.seeds.iter().map(|k| k.to_string()).collect::<Vec<_>>().join(" "),
    ]
}

/// Writes the settings table as CSV, full precision.
pub fn write_settings_csv(stats: &SweepStats, path: &Path) -> Result<(), ReportError> {
    let mut header = vec!["data", "algo", "lr"];
    header.extend(STAT_CSV_COLUMNS);
    let rows = stats.settings.iter().map(|s| {
        let mut row = vec![s.data.clone(), s.algo.clone(), s.lr.to_string()];
        row.extend(stat_csv_cells(s));
        row
    });
    write_csv(path, &header, rows)
}

/// Writes the chosen-lr table as CSV, full precision.
pub fn write_chosen_csv(stats: &SweepStats, path: &Path) -> Result<(), ReportError> {
    let mut header = vec!["data", "algo", "chosen_lr", "n_lrs"];
    header.extend(STAT_CSV_COLUMNS);
    let rows = stats.chosen.iter().map(|c| {
        let s = &stats.settings[c.setting];
        let mut row = vec![s.data.clone(), s.algo.clone(), s.lr.to_string(), c.n_lrs.to_string()];
        row.extend(stat_csv_cells(s));
        row
    });
    write_csv(path, &header, rows)
}

fn write_csv(
    path: &Path,
    header: &[&str],
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<(), ReportError> {
    let io = |source| ReportError::Write { path: path.to_path_buf(), source };
    let csv_io = |e: csv::Error| io(std::io::Error::other(e.to_string()));
    let mut writer = csv::Writer::from_path(path).map_err(csv_io)?;
    writer.write_record(header).map_err(csv_io)?;
    for row in rows {
        writer.write_record(&row).map_err(csv_io)?;
    }
    writer.flush().map_err(io)
}

/// The tables as one Markdown document, with the definitions of the statistics.
pub fn markdown(tables: &[Table], notes: &[&str]) -> String {
    let mut md = String::from("# ilnet report: tables\n\n");
    for note in notes {
        md.push_str(&format!("- {note}\n"));
    }
    for table in tables {
        md.push_str(&format!("\n## {}\n\n{}\n\n", table.title, table.caption));
        md.push_str(&format!("| {} |\n", table.columns.join(" | ")));
        md.push_str(&format!("|{}\n", " --- |".repeat(table.columns.len())));
        for row in &table.rows {
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            md.push_str(&format!("| {} |\n", cells.join(" | ")));
        }
    }
    md
}

/// One table as HTML, cells escaped.
pub fn html(table: &Table) -> String {
    let mut h = format!(
        "<h3>{}</h3>\n<p>{}</p>\n<table>\n<thead><tr>",
        escape_html(&table.title),
        escape_html(&table.caption)
    );
    for c in &table.columns {
        h.push_str(&format!("<th>{}</th>", escape_html(c)));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for row in &table.rows {
        h.push_str("<tr>");
        for c in row {
            h.push_str(&format!("<td>{}</td>", escape_html(c)));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table>\n");
    h
}

/// Escapes text for HTML element content and quoted attributes.
pub fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
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

/// A learning rate in its shortest exact decimal form (`0.01`, `2.5`, `100`).
pub fn format_lr(lr: f64) -> String {
    lr.to_string()
}

/// `mean ± std` of accuracies, to four decimals.
pub fn format_mean_std(m: MeanStd) -> String {
    format!("{:.4} ± {:.4}", m.mean, m.std)
}

fn format_opt(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(v) if v != 0.0 && !(1e-3..1e4).contains(&v.abs()) => format!("{v:.3e}"),
        Some(v) => format!("{v:.4}"),
    }
}
