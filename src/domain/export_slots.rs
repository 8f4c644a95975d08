//! How many exports may run at once, per user and per process.
//!
//! An export holds a database connection and a task for as long as its
//! client reads: minutes for a large file, and until the write timeout for
//! a client that stops reading. Unbounded, a handful of slow downloads
//! would hold every connection. So exports are counted: a user may run
//! `per_user` at once and the process `overall`; past either, the export
//! is refused at once (the handler answers 429) rather than queued.
//!
//! A granted export holds an [`ExportPermit`] until it ends, however it
//! ends (file sent, client gone, write timeout, error): the permit gives
//! its slot back when dropped.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
};

/// The counters of the exports running in this process. Cheap to clone
/// (shared).
#[derive(Debug, Clone)]
pub struct ExportSlots {
    counts: Arc<Mutex<Counts>>,
    per_user: usize,
    overall: usize,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_user: HashMap<u64, usize>,
}

/// Why an export was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportRefusal {
    /// This user already runs as many exports as allowed.
    UserBusy { limit: usize },
    /// The process already runs as many exports as allowed.
    ServerBusy,
}

/// The right to run one export; gives its slot back when dropped.
#[derive(Debug)]
pub struct ExportPermit {
    counts: Arc<Mutex<Counts>>,
    user_id: u64,
}

impl ExportSlots {
    pub fn new(per_user: usize, overall: usize) -> Self {
        Self {
            counts: Arc::default(),
            per_user,
            overall,
        }
    }

    /// Takes a slot for `user_id`, or says why there is none. The user's
    /// limit is checked first: a user at their limit is told so even when
    /// the process is busy too.
    pub fn acquire(&self, user_id: u64) -> Result<ExportPermit, ExportRefusal> {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        let mine = counts.by_user.get(&user_id).copied().unwrap_or(0);
        if mine >= self.per_user {
            return Err(ExportRefusal::UserBusy {
                limit: self.per_user,
            });
        }
        if counts.total >= self.overall {
            return Err(ExportRefusal::ServerBusy);
        }
        counts.total += 1;
        *counts.by_user.entry(user_id).or_default() += 1;
        Ok(ExportPermit {
            counts: self.counts.clone(),
            user_id,
        })
    }

    /// How many exports are running.
    pub fn in_use(&self) -> usize {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

impl Drop for ExportPermit {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts.total = counts.total.saturating_sub(1);
        if let Some(mine) = counts.by_user.get_mut(&self.user_id) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                counts.by_user.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_at_most_their_share_and_the_process_its_total() {
        let slots = ExportSlots::new(2, 3);
        let a1 = slots.acquire(1).expect("first of user 1");
        let _a2 = slots.acquire(1).expect("second of user 1");
        assert_eq!(
            slots.acquire(1).unwrap_err(),
            ExportRefusal::UserBusy { limit: 2 }
        );
        let _b1 = slots.acquire(2).expect("first of user 2");
        assert_eq!(slots.acquire(2).unwrap_err(), ExportRefusal::ServerBusy);
        assert_eq!(slots.acquire(3).unwrap_err(), ExportRefusal::ServerBusy);
        assert_eq!(slots.in_use(), 3);
        drop(a1);
        assert_eq!(slots.in_use(), 2);
        let _c1 = slots.acquire(3).expect("a slot came back");
        assert_eq!(
            slots.acquire(1).unwrap_err(),
            ExportRefusal::ServerBusy,
            "user 1 is under their share but the process is full"
        );
    }

    #[test]
    fn every_permit_gives_its_slot_back() {
        let slots = ExportSlots::new(2, 4);
        let permits: Vec<_> = (0..4).map(|i| slots.acquire(i / 2).unwrap()).collect();
        assert_eq!(slots.in_use(), 4);
        drop(permits);
        assert_eq!(slots.in_use(), 0);
        assert!(slots.counts.lock().unwrap().by_user.is_empty());
    }
}
