//! A check that fails by panicking (as `assert!` and the harness's
//! assertions do), run so that its panic becomes a message: what
//! exploration and mutation runs call once per interleaving or mutant.

use std::cell::Cell;
use std::sync::Once;

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `check`, turning a panic into its message; the panic is not
/// printed (other threads' panics still are).
pub(crate) fn quietly(check: impl FnOnce()) -> Result<(), String> {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !QUIET.with(Cell::get) {
                previous(info);
            }
        }));
    });
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(check));
    QUIET.with(|q| q.set(was));
    result.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "the check panicked".into())
    })
}
