//! Just enough Markdown for docs/methodology.md on the site: headings,
//! paragraphs, lists, code blocks, tables (kept as preformatted text), inline
//! `code` and **bold**. Everything is escaped first.

use crate::charts::esc;

fn inline(s: &str) -> String {
    let e = esc(s);
    let mut out = String::new();
    let mut code = false;
    let mut bold = false;
    let mut rest = e.as_str();
    while let Some(c) = rest.chars().next() {
        if c == '`' {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
            rest = &rest[1..];
        } else if !code && rest.starts_with("**") {
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
            rest = &rest[2..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    if code {
        out.push_str("</code>");
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

/// Renders `md`; headings start at `<h2>` (the page has its own `<h1>`).
pub fn render(md: &str) -> String {
    let mut out = String::new();
    let mut para: Vec<&str> = Vec::new();
    let mut list = false;
    let mut pre = false;
    let flush = |out: &mut String, para: &mut Vec<&str>| {
        if !para.is_empty() {
            out.push_str("<p>");
            out.push_str(&inline(&para.join(" ")));
            out.push_str("</p>\n");
            para.clear();
        }
    };
    let mut item = String::new();
    let end_item = |out: &mut String, item: &mut String| {
        if !item.is_empty() {
            out.push_str("<li>");
            out.push_str(&inline(item.trim()));
            out.push_str("</li>\n");
            item.clear();
        }
    };
    for line in md.lines() {
        if line.starts_with("```") {
            flush(&mut out, &mut para);
            end_item(&mut out, &mut item);
            if list {
                out.push_str("</ul>\n");
                list = false;
            }
            out.push_str(if pre { "</pre>\n" } else { "<pre>" });
            pre = !pre;
            continue;
        }
        if pre || line.starts_with('|') {
            if !pre {
                flush(&mut out, &mut para);
                out.push_str("<pre>");
                out.push_str(&esc(line));
                out.push_str("</pre>\n");
            } else {
                out.push_str(&esc(line));
                out.push('\n');
            }
            continue;
        }
        let trimmed = line.trim();
        if let Some(h) = trimmed.strip_prefix('#') {
            flush(&mut out, &mut para);
            end_item(&mut out, &mut item);
            if list {
                out.push_str("</ul>\n");
                list = false;
            }
            let level = 1 + h.chars().take_while(|c| *c == '#').count();
            let level = (level + 1).min(6);
            let text = h.trim_start_matches('#').trim();
            out.push_str(&format!("<h{level}>{}</h{level}>\n", inline(text)));
        } else if let Some(li) = trimmed.strip_prefix("- ") {
            flush(&mut out, &mut para);
            end_item(&mut out, &mut item);
            if !list {
                out.push_str("<ul>\n");
                list = true;
            }
            item.push_str(li);
        } else if trimmed.is_empty() {
            flush(&mut out, &mut para);
            end_item(&mut out, &mut item);
            if list {
                out.push_str("</ul>\n");
                list = false;
            }
        } else if list {
            item.push(' ');
            item.push_str(trimmed);
        } else {
            para.push(trimmed);
        }
    }
    flush(&mut out, &mut para);
    end_item(&mut out, &mut item);
    if list {
        out.push_str("</ul>\n");
    }
    if pre {
        out.push_str("</pre>\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn headings_lists_and_escaping() {
        let html = render("# Rules\n\nA **bold** `x<y` line\ncontinued.\n\n- one\n  more\n- two\n");
        assert_eq!(
            html,
            "<h2>Rules</h2>\n<p>A <strong>bold</strong> <code>x&lt;y</code> line continued.</p>\n\
             <ul>\n<li>one more</li>\n<li>two</li>\n</ul>\n"
        );
    }
}
