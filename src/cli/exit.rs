//! One exit-code table for every command (README "Exit codes"):
//!
//! | code | meaning |
//! |---|---|
//! | 0 | everything converged or compliant (for `plan`, `report` and dry runs: planned) |
//! | 1 | a failure: a cluster failed, a write was refused, a message failed or was rejected, a check failed |
//! | 2 | usage or configuration error (nothing was sent), including a fleet write refused for lack of confirmation |
//! | 3 | something is blocked or excluded (and nothing failed) |
//! | 4 | not found or nothing in scope: the cluster does not exist or is outside `scope.subscriptions`, the scope is empty, or the selection has no cluster |
//! | 130 | interrupted (SIGINT/SIGTERM): the run stopped early; run it again to finish |

use std::process::ExitCode;

/// How a command ended; mapped to the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0
    Success,
    /// 3
    Blocked,
    /// 1
    Failure,
    /// 4
    NotFound,
    /// 2
    Usage,
    /// 130
    Interrupted,
}

impl Exit {
    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::Failure => 1,
            Self::Usage => 2,
            Self::Blocked => 3,
            Self::NotFound => 4,
            Self::Interrupted => 130,
        }
    }

    /// The more severe of two per-cluster outcomes: failure over blocked/excluded over success (the
    /// enum's order).
    pub fn worst(self, other: Self) -> Self {
        self.max(other)
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests {
    use super::Exit::*;

    #[test]
    fn the_table_and_its_precedence() {
        assert_eq!([Success, Failure, Usage, Blocked, NotFound, Interrupted].map(|e| e.code()), [0, 1, 2, 3, 4, 130]);
        assert_eq!(Success.worst(Blocked), Blocked);
        assert_eq!(Blocked.worst(Failure), Failure);
        assert_eq!(Failure.worst(Success), Failure);
    }
}
