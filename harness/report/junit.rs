//! `junit.xml`: one test case per SLA, so any CI shows the verdicts natively. A failed SLA is a
//! `<failure>`, an inconclusive one a `<skipped>` with the sample size that would decide.

use std::fmt::Write;

use super::Summary;
use crate::sla::VerdictKind;

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\r' | '\t') => {}
            c => out.push(c),
        }
    }
    out
}

pub fn render_junit(summary: &Summary, run_id: &str) -> String {
    let v = &summary.verdicts;
    let failures = v.iter().filter(|v| v.verdict == VerdictKind::Fail).count();
    let skipped = v
        .iter()
        .filter(|v| v.verdict == VerdictKind::Inconclusive)
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"syncproof\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        v.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"sla.{}\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">",
        escape(run_id),
        v.len()
    );
    for verdict in v {
        let evidence = format!(
            "{} = {} (n = {}, {:.0}% interval {} .. {}), threshold {} {}",
            verdict.metric,
            verdict.actual,
            verdict.n,
            verdict.confidence * 100.0,
            verdict.ci_low,
            verdict.ci_high,
            verdict.op,
            verdict.threshold
        );
        let _ = write!(
            out,
            "    <testcase classname=\"sla\" name=\"{}\">",
            escape(&verdict.name)
        );
        match verdict.verdict {
            VerdictKind::Pass => {}
            VerdictKind::Fail => {
                let _ = write!(out, "<failure message=\"{}\"/>", escape(&evidence));
            }
            VerdictKind::Inconclusive => {
                let need = match (&verdict.note, verdict.samples_needed) {
                    (Some(note), _) => format!("; {note}"),
                    (None, Some(n)) => format!("; about {n} samples would decide"),
                    (None, None) => String::new(),
                };
                let _ = write!(
                    out,
                    "<skipped message=\"inconclusive: {}{}\"/>",
                    escape(&evidence),
                    escape(&need)
                );
            }
        }
        let _ = writeln!(out, "</testcase>");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_names_stays_text() {
        assert_eq!(
            escape("A&B <script>\"'"),
            "A&amp;B &lt;script&gt;&quot;&apos;"
        );
    }
}
