//! Aligned text tables for people: columns as wide as their widest cell,
//! two spaces apart, the last column unpadded; cells may carry a colour,
//! used only when stdout is a terminal.

use std::io::IsTerminal;

/// A colour for a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Style {
    Plain,
    Green,
    Yellow,
    Red,
    Magenta,
    Cyan,
    Dim,
    Bold,
}

impl Style {
    fn code(self) -> Option<&'static str> {
        match self {
            Self::Plain => None,
            Self::Green => Some("32"),
            Self::Yellow => Some("33"),
            Self::Red => Some("31"),
            Self::Magenta => Some("35"),
            Self::Cyan => Some("36"),
            Self::Dim => Some("2"),
            Self::Bold => Some("1"),
        }
    }

    /// The colour of a host state (`active`, `draining`, …).
    pub(crate) fn of_state(state: &str) -> Self {
        match state {
            "active" => Self::Green,
            "draining" => Self::Yellow,
            "dead" => Self::Red,
            "cordoned" => Self::Magenta,
            "pinned" => Self::Cyan,
            "unassigned" => Self::Dim,
            _ => Self::Plain,
        }
    }
}

/// Whether to colour: stdout is a terminal and `NO_COLOR` is unset.
pub(crate) fn colour_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
}

/// `text` in `style` when `colour`, else as it is.
pub(crate) fn paint(text: &str, style: Style, colour: bool) -> String {
    match style.code().filter(|_| colour && !text.is_empty()) {
        Some(code) => format!("\x1b[{code}m{text}\x1b[0m"),
        None => text.to_owned(),
    }
}

/// One cell: its text and colour.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cell {
    text: String,
    style: Style,
}

impl Cell {
    pub(crate) fn new(text: impl Into<String>, style: Style) -> Self {
        Self {
            text: text.into(),
            style,
        }
    }

    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn style(&self) -> Style {
        self.style
    }

    fn width(&self) -> usize {
        self.text.chars().count()
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Self::new(text, Style::Plain)
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Self::new(text, Style::Plain)
    }
}

/// Rows under an optional header.
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Option<Vec<String>>,
    rows: Vec<Vec<Cell>>,
}

impl Table {
    /// A table with column titles.
    pub(crate) fn with_header(titles: &[&str]) -> Self {
        Self {
            header: Some(titles.iter().map(|t| (*t).to_owned()).collect()),
            rows: Vec::new(),
        }
    }

    /// A table without titles (key/value lists, zone lines).
    pub(crate) fn plain() -> Self {
        Self::default()
    }

    pub(crate) fn row(&mut self, cells: Vec<Cell>) {
        self.rows.push(cells);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as lines, each ending in `\n`; colours when `colour`.
    pub(crate) fn render(&self, colour: bool) -> String {
        let header = self.header.as_ref().map(|h| {
            h.iter()
                .map(|t| Cell::new(t.clone(), Style::Bold))
                .collect::<Vec<_>>()
        });
        let lines: Vec<&Vec<Cell>> = header.iter().chain(&self.rows).collect();
        let columns = lines.iter().map(|l| l.len()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                lines
                    .iter()
                    .filter_map(|l| l.get(i))
                    .map(Cell::width)
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for line in lines {
            let mut text = String::new();
            // Trailing empty cells pad nothing.
            let used = line.iter().rposition(|c| !c.text.is_empty()).map_or(0, |i| i + 1);
            for (i, cell) in line.iter().take(used).enumerate() {
                if i > 0 {
                    text.push_str("  ");
                }
                text.push_str(&paint(&cell.text, cell.style, colour));
                if i + 1 < used {
                    let pad = widths[i].saturating_sub(cell.width());
                    text.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(&text);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_on_the_widest_cell_and_the_last_is_unpadded() {
        let mut t = Table::with_header(&["HOST", "STATE", "NOTE"]);
        t.row(vec![
            "smurf10".into(),
            Cell::new("active", Style::Green),
            "".into(),
        ]);
        t.row(vec!["ns1".into(), "unassigned".into(), "static".into()]);
        assert_eq!(
            t.render(false),
            "HOST     STATE       NOTE\n\
             smurf10  active\n\
             ns1      unassigned  static\n"
        );
    }

    #[test]
    fn colour_wraps_the_text_but_not_the_padding() {
        let mut t = Table::plain();
        t.row(vec![Cell::new("dead", Style::Red), "x".into()]);
        t.row(vec!["active".into(), "y".into()]);
        assert_eq!(t.render(true), "\x1b[31mdead\x1b[0m    x\nactive  y\n");
    }

    #[test]
    fn widths_count_characters_not_bytes() {
        let mut t = Table::plain();
        t.row(vec!["mx → web".into(), "a".into()]);
        t.row(vec!["-".into(), "b".into()]);
        assert_eq!(t.render(false), "mx → web  a\n-         b\n");
    }
}
