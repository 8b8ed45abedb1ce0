//! Threads of their own for a request's curve arithmetic, so that the tokio
//! workers only read, route and write: an answer whose commit has landed is
//! written without waiting behind another request's re-wrap and signature.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crossbeam_channel::{unbounded, Receiver, Sender};
use tokio::sync::oneshot;

use super::ServiceError;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of threads taking jobs from one queue. Each thread waits on
/// the queue itself, spinning briefly before it sleeps; a lock in front of
/// a single receiver would wake a second thread per job. Clones share the
/// threads.
#[derive(Clone)]
pub(crate) struct CryptoPool {
    jobs: Sender<Job>,
}

impl CryptoPool {
    /// One thread per core the process may use.
    pub(crate) fn new() -> Self {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let (jobs, queue) = unbounded::<Job>();
        for i in 0..threads {
            let queue = queue.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("encnet-crypto-{i}"))
                .spawn(move || work(&queue));
            if let Err(err) = spawned {
                tracing::warn!(error = %err, "crypto thread not started");
            }
        }
        Self { jobs }
    }

    /// Runs `f` on a pool thread and waits for its result.
    pub(crate) async fn run<T, F>(&self, f: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.jobs.send(job).map_err(|_| pool_gone())?;
        rx.await.map_err(|_| pool_gone())
    }
}

/// Takes jobs until the pool is dropped; a job that panics loses only its
/// own answer.
fn work(queue: &Receiver<Job>) {
    while let Ok(job) = queue.recv() {
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

fn pool_gone() -> ServiceError {
    ServiceError::Internal("the cryptography threads are gone".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_job_runs_on_a_pool_thread_and_returns_its_value() {
        let pool = CryptoPool::new();
        let name = pool
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .expect("answer");
        assert!(name.is_some_and(|n| n.starts_with("encnet-crypto-")));
    }

    #[tokio::test]
    async fn a_panicking_job_fails_alone_and_the_threads_go_on() {
        let pool = CryptoPool::new();
        let failed = pool.run(|| -> u8 { panic!("a job's own bug") }).await;
        assert!(matches!(failed, Err(ServiceError::Internal(_))));
        // Every thread still answers.
        for n in 0..8u8 {
            assert_eq!(pool.run(move || n + 1).await.expect("answer"), n + 1);
        }
    }
}
