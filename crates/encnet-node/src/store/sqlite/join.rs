//! Joining the store's threads when their handles drop.

use std::thread::JoinHandle;

/// Waits for a store thread (the writer, the checkpointer) to finish its
/// last job and close its connection.
pub(super) struct JoinOnDrop(pub(super) Option<JoinHandle<()>>);

impl Drop for JoinOnDrop {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}
