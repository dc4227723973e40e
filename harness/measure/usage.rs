//! The harness process's own resource use, written into the summary so that a run bound by its
//! client (not the target) is visible, and so that memory over a long run can be checked.
//! Read from Linux's `/proc/self`; absent on other systems. When the built-in mock runs
//! inside the process, its share is included.

/// CPU time and peak memory of this process so far.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OwnUsage {
    /// User plus system CPU seconds, all threads.
    pub cpu_s: f64,
    /// Peak resident set size (`VmHWM`), MiB.
    pub peak_rss_mib: f64,
}

/// `/proc` reports CPU times in USER_HZ ticks, which Linux fixes at 100 for user space.
const USER_HZ: f64 = 100.0;

/// This process's usage, when the system tells it.
pub fn own_usage() -> Option<OwnUsage> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    Some(OwnUsage {
        cpu_s: cpu_seconds(&stat)?,
        peak_rss_mib: peak_rss_kib(&status)? as f64 / 1024.0,
    })
}

fn peak_rss_kib(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// utime + stime (fields 14 and 15), counted after the `)` that ends the command name (which
/// may itself hold spaces).
fn cpu_seconds(stat: &str) -> Option<f64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name, field 3 (state) is index 0, so fields 14 and 15 are indices 11 and 12.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_are_parsed_by_field_not_by_position_of_spaces() {
        let stat = "4242 (my prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 9 0";
        assert_eq!(cpu_seconds(stat), Some(3.25));
        let status =
            "Name:\tsyncproof\nVmPeak:\t  900 kB\nVmHWM:\t   20480 kB\nVmRSS:\t 10240 kB\n";
        assert_eq!(peak_rss_kib(status), Some(20480));
        assert_eq!(peak_rss_kib("Name: x\n"), None);
        assert_eq!(cpu_seconds("garbage"), None);
    }

    #[test]
    fn this_process_reports_its_own_usage_on_linux() {
        if cfg!(target_os = "linux") {
            let usage = own_usage().expect("/proc/self is readable on Linux");
            assert!(usage.peak_rss_mib > 1.0, "{usage:?}");
            assert!(usage.cpu_s >= 0.0);
        }
    }
}
