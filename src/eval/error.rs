//! The one type internal control flow travels in ([`Exn`]): a state
//! returns `Result<Step, Exn>`; a failure goes one way only, as `Err`.

pub(crate) use crate::failure::{Failure, FaultKind, HarnessFault};
pub(crate) use crate::names;

/// Why a state does not go on to a next state: travels as `Err` through
/// the states, Retry/Catch and nested machines; never leaves `eval`.
#[derive(Debug)]
pub(crate) enum Exn {
    /// A failure that Retry and Catch may handle (the state's own, then the
    /// enclosing Parallel's or Map's).
    Fail(Failure),
    /// The execution stops here; no Retry or Catch sees it.
    Halt(Halt),
}

/// How an execution stops without a catchable failure.
#[derive(Debug)]
pub(crate) enum Halt {
    /// A callback that nothing will answer, with no timeout to end it: the
    /// execution stays RUNNING with this diagnosis.
    Stalled(String),
    /// The execution's TimeoutSeconds passed.
    ExecutionTimedOut,
    /// The execution fails with this failure, whatever catchers say: the
    /// history reached AWS's quota of events.
    Fail(Failure),
    /// A problem of the test: the execution fails with it, whatever
    /// catchers say.
    Fault(HarnessFault),
}

impl From<Failure> for Exn {
    fn from(f: Failure) -> Exn {
        Exn::Fail(f)
    }
}

impl From<HarnessFault> for Exn {
    fn from(f: HarnessFault) -> Exn {
        Exn::Halt(Halt::Fault(f))
    }
}

impl From<Halt> for Exn {
    fn from(h: Halt) -> Exn {
        Exn::Halt(h)
    }
}
