//! Exit codes, as DESIGN.md and the README document them.

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every SLA passed.
    Pass = 0,
    /// At least one SLA was breached.
    Breach = 1,
    /// Bad input or usage: nothing was run.
    BadInput = 2,
    /// The run itself failed (target unreachable, disk full, interrupted).
    RunFailed = 3,
    /// No SLA breached, but at least one could not be decided on this sample.
    Inconclusive = 4,
}

impl From<Exit> for std::process::ExitCode {
    fn from(exit: Exit) -> Self {
        std::process::ExitCode::from(exit as u8)
    }
}

impl Exit {
    /// Prints `error` (its whole chain) and gives the exit code for it: 2 for bad input, 3 for
    /// a run that failed.
    pub fn for_error(error: &impl std::fmt::Display, bad_input: bool) -> Exit {
        eprintln!("error: {error:#}");
        if bad_input {
            Exit::BadInput
        } else {
            Exit::RunFailed
        }
    }

    /// The exit code of a finished run's overall verdict.
    pub fn for_verdict(overall: crate::sla::VerdictKind) -> Exit {
        match overall {
            crate::sla::VerdictKind::Pass => Exit::Pass,
            crate::sla::VerdictKind::Fail => Exit::Breach,
            crate::sla::VerdictKind::Inconclusive => Exit::Inconclusive,
        }
    }
}
