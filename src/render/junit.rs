//! JUnit XML: a test suite per file, a failing test case per diagnostic.

use std::io::Write;

use threadlint_analyzer::Report;

use super::items;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

pub fn write(report: &Report, out: &mut dyn Write) -> std::io::Result<()> {
    let items = items(report);
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    if items.is_empty() {
        writeln!(
            out,
            r#"<testsuites name="threadlint" tests="1" failures="0" errors="0">"#
        )?;
        writeln!(
            out,
            r#"  <testsuite name="threadlint" tests="1" failures="0" errors="0">"#
        )?;
        writeln!(
            out,
            r#"    <testcase name="No problems found" classname="threadlint"/>"#
        )?;
        writeln!(out, "  </testsuite>")?;
        return writeln!(out, "</testsuites>");
    }
    writeln!(
        out,
        r#"<testsuites name="threadlint" tests="{0}" failures="{0}" errors="0">"#,
        items.len()
    )?;
    let mut index = 0;
    while index < items.len() {
        let file = items[index].file;
        let group: Vec<_> = items[index..]
            .iter()
            .take_while(|i| std::ptr::eq(i.file, file))
            .collect();
        let path = escape(&file.display_path());
        writeln!(
            out,
            r#"  <testsuite name="{path}" tests="{0}" failures="{0}" errors="0">"#,
            group.len()
        )?;
        for item in &group {
            let code = item.diagnostic.code.unwrap_or(item.diagnostic.name);
            writeln!(
                out,
                r#"    <testcase name="{code} at line {}, column {}" classname="{path}" file="{path}" line="{}">"#,
                item.start.row, item.start.column, item.start.row
            )?;
            writeln!(
                out,
                r#"      <failure message="{}" type="{code}">{path}:{}:{}: {}</failure>"#,
                escape(&item.diagnostic.message),
                item.start.row,
                item.start.column,
                escape(&item.diagnostic.message)
            )?;
            writeln!(out, "    </testcase>")?;
        }
        writeln!(out, "  </testsuite>")?;
        index += group.len();
    }
    writeln!(out, "</testsuites>")
}
