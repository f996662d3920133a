//! The broker's connections in progress: at most so many at once, and at
//! most a few of one caller (uid), so that no caller — named by the policy
//! or not — can hold the places others need (issue 32, finding 5). A place
//! is an owned guard: given back when dropped, however its connection ends
//! (answered, refused, its thread gone or panicked).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Why no place was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Full {
    /// The broker is serving its maximum.
    All(usize),
    /// This caller has its maximum in progress.
    Caller(usize),
}

pub struct Slots {
    max: usize,
    per_caller: usize,
    state: Arc<Mutex<Counts>>,
}

#[derive(Default)]
struct Counts {
    all: usize,
    by_uid: HashMap<u32, usize>,
}

/// One connection's place.
pub struct Slot {
    uid: u32,
    state: Arc<Mutex<Counts>>,
}

impl Slots {
    pub fn new(max: usize, per_caller: usize) -> Slots {
        Slots {
            max,
            per_caller,
            state: Arc::default(),
        }
    }

    /// A place for a connection of `uid`, or why there is none.
    pub fn take(&self, uid: u32) -> Result<Slot, Full> {
        let mut c = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if c.all >= self.max {
            return Err(Full::All(self.max));
        }
        let mine = c.by_uid.entry(uid).or_default();
        if *mine >= self.per_caller {
            return Err(Full::Caller(self.per_caller));
        }
        *mine += 1;
        c.all += 1;
        Ok(Slot {
            uid,
            state: Arc::clone(&self.state),
        })
    }

    /// Connections in progress (for tests and the status).
    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.state.lock().unwrap().all
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = self.state.lock().unwrap_or_else(|p| p.into_inner());
        c.all -= 1;
        if let Some(n) = c.by_uid.get_mut(&self.uid) {
            *n -= 1;
            if *n == 0 {
                c.by_uid.remove(&self.uid);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_gets_a_few_and_everyone_the_rest() {
        let slots = Slots::new(5, 2);
        let a1 = slots.take(1).unwrap();
        let _a2 = slots.take(1).unwrap();
        assert_eq!(slots.take(1).err(), Some(Full::Caller(2)));
        let _b1 = slots.take(2).unwrap();
        let _b2 = slots.take(2).unwrap();
        let _c1 = slots.take(3).unwrap();
        assert_eq!(slots.take(4).err(), Some(Full::All(5)));
        drop(a1);
        assert_eq!(slots.in_use(), 4);
        let _a3 = slots.take(1).unwrap();
    }

    #[test]
    fn a_place_comes_back_when_its_thread_panics() {
        let slots = Slots::new(1, 1);
        let slot = slots.take(7).unwrap();
        let _ = std::thread::spawn(move || {
            let _held = slot;
            panic!("a connection's thread panicked");
        })
        .join();
        assert_eq!(slots.in_use(), 0);
        assert!(slots.take(7).is_ok());
    }
}
