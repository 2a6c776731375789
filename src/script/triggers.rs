//! Trigger registrations made by a script (`on_change`, `every`, `cron`), kept for the
//! daemon. (Being written.)

/// The triggers a script registered.
#[derive(Debug, Default)]
pub struct Registry {}
