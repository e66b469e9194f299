//! The report page: one self-contained HTML file with the tables and every figure.
//!
//! Figures are embedded as `data:image/svg+xml;base64` images and a Content-Security-Policy
//! forbids every other source, so the page opens the same from a mail attachment as from
//! the report folder.
//!
//! The page carries a small self-check script. When the page has loaded it counts the
//! images that failed to decode and the tables without body rows, and writes the result as
//! JSON into the hidden element `#ilnet-selfcheck` (and `ok` or `failed` into its
//! `data-status`). It changes nothing a reader sees; the browser test reads it back from
//! the rendered DOM.

use super::plots::RenderedPlot;
use super::tables::{Table, escape_html, html as table_html};

/// The id of the hidden element the self-check writes into.
pub const SELF_CHECK_ID: &str = "ilnet-selfcheck";

const STYLE: &str = "\
body{font-family:sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}\
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:14px}\
th,td{border:1px solid #bbb;padding:4px 8px;text-align:right}td{white-space:nowrap}\
th{background:#eee}td:nth-child(-n+2){text-align:left}\
figure{margin:1em 0 2em}figure img{max-width:100%;height:auto;border:1px solid #ddd}\
figcaption{font-size:14px;color:#555}code{background:#f4f4f4}";

const SELF_CHECK: &str = r#"
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var broken = images.filter(function (i) { return !(i.complete && i.naturalWidth > 0); })
    .map(function (i) { return i.alt; });
  var tables = Array.prototype.slice.call(document.querySelectorAll("table"));
  var empty = tables.filter(function (t) {
    return t.tBodies.length === 0 || t.tBodies[0].rows.length === 0;
  }).length;
  var out = document.getElementById("ilnet-selfcheck");
  out.textContent = JSON.stringify({
    images: images.length, broken: broken, tables: tables.length, empty_tables: empty
  });
  out.setAttribute("data-status", broken.length === 0 && empty === 0 ? "ok" : "failed");
});
"#;

/// What goes on the page.
pub struct Page<'a> {
    /// Definitions of the statistics, one sentence each.
    pub notes: &'a [&'a str],
    /// The tables, in order.
    pub tables: &'a [Table],
    /// The figures, in order.
    pub plots: &'a [RenderedPlot],
    /// How many runs went in.
    pub n_runs: usize,
    /// Unfinished run folders that were skipped.
    pub skipped: &'a [std::path::PathBuf],
}

/// Renders the page.
pub fn page(p: &Page) -> String {
    let mut h = String::from(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <title>ilnet report</title>\n",
    );
    h.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n<h1>ilnet report</h1>\n"));
    h.push_str(&format!("<p>{} runs.", p.n_runs));
    if !p.skipped.is_empty() {
        h.push_str(&format!(" Skipped {} unfinished run folders:", p.skipped.len()));
        for dir in p.skipped {
            h.push_str(&format!(" <code>{}</code>", escape_html(&dir.display().to_string())));
        }
    }
    h.push_str("</p>\n<h2>How the numbers are made</h2>\n<ul>\n");
    for note in p.notes {
        h.push_str(&format!("<li>{}</li>\n", escape_html(note)));
    }
    h.push_str("</ul>\n<h2>Tables</h2>\n");
    for table in p.tables {
        h.push_str(&table_html(table));
    }
    h.push_str("<h2>Figures</h2>\n");
    for plot in p.plots {
        let title = escape_html(&plot.title);
        let file = |path: &std::path::Path| {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            escape_html(&name.unwrap_or_default())
        };
        h.push_str(&format!(
            "<figure>\n<img alt=\"{title}\" width=\"960\" height=\"600\" \
             src=\"data:image/svg+xml;base64,{}\">\n\
             <figcaption>{title} (files <code>{}</code>, <code>{}</code>)</figcaption>\n\
             </figure>\n",
            base64(plot.svg.as_bytes()),
            file(&plot.svg_path),
            file(&plot.png_path),
        ));
    }
    h.push_str(&format!(
        "<div id=\"{SELF_CHECK_ID}\" hidden data-status=\"pending\"></div>\n\
         <script>{SELF_CHECK}</script>\n</body>\n</html>\n"
    ));
    h
}

/// Standard base64 (RFC 4648) with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..4 {
            if k <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    /// The test vectors of RFC 4648, section 10.
    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "input {plain:?}");
        }
    }
}
