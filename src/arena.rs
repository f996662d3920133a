//! The front binary's allocator ([`crate::front`]): a bump arena that never
//! frees, in front of the system's. A cache hit lives about a millisecond
//! and allocates a few dozen kilobytes in hundreds of small pieces; musl's
//! allocator spent a quarter of the hit's instructions on them (and gave
//! memory back to the kernel between them). Here an allocation is an
//! addition; a `Vec` that grows at the end of the arena grows in place.
//! Past the arena's [`CAPACITY`] (a large entry, the hand-off to the full
//! program), the system's allocator serves as before.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes served from the arena (virtual memory in .bss: pages the process
/// never touches cost nothing).
pub const CAPACITY: usize = 512 * 1024;

#[repr(C, align(4096))]
struct Bytes(UnsafeCell<[u8; CAPACITY]>);

// SAFETY: the arena's bytes are handed out in disjoint ranges (`next` only
// grows, by compare-and-swap), so no two threads ever share one.
unsafe impl Sync for Bytes {}

static BYTES: Bytes = Bytes(UnsafeCell::new([0; CAPACITY]));
/// Offset of the first free byte.
static NEXT: AtomicUsize = AtomicUsize::new(0);

/// The allocator: `#[global_allocator]` of the front binary (src/main.rs).
pub struct Arena;

fn base() -> usize {
    BYTES.0.get() as usize
}

fn in_arena(ptr: *mut u8) -> bool {
    let p = ptr as usize;
    p >= base() && p < base() + CAPACITY
}

/// Reserves `size` bytes aligned to `align`; `None` when the arena is full.
fn bump(size: usize, align: usize) -> Option<*mut u8> {
    let mut next = NEXT.load(Ordering::Relaxed);
    loop {
        let start = (base() + next).checked_next_multiple_of(align)? - base();
        let end = start.checked_add(size)?;
        if end > CAPACITY {
            return None;
        }
        match NEXT.compare_exchange_weak(next, end, Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => return Some((base() + start) as *mut u8),
            Err(now) => next = now,
        }
    }
}

// SAFETY: every pointer returned is either a disjoint, suitably aligned
// range of the arena (valid for the program's life) or the system
// allocator's; each is returned to the allocator it came from.
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match bump(layout.size(), layout.align()) {
            Some(p) => p,
            // SAFETY: the caller's layout, passed on.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match bump(layout.size(), layout.align()) {
            // The arena's bytes are zero until first handed out, and
            // never handed out twice.
            Some(p) => p,
            // SAFETY: the caller's layout, passed on.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !in_arena(ptr) {
            // SAFETY: allocated by the system allocator with this layout.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !in_arena(ptr) {
            // SAFETY: allocated by the system allocator with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // The last allocation grows where it is. The end only ever moves
        // forward: no byte is handed out twice (and so each is still zero
        // when first handed out).
        let start = ptr as usize - base();
        if let Some(new_end) = start.checked_add(new_size).filter(|e| *e <= CAPACITY)
            && NEXT
                .compare_exchange(
                    start + layout.size(),
                    new_end,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
        {
            return ptr;
        }
        // SAFETY: the new layout has the old alignment and a nonzero size.
        let new =
            unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !new.is_null() {
            // SAFETY: both ranges are valid for the old size and disjoint.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocations_are_aligned_disjoint_and_grow_in_place_at_the_end() {
        let a = Arena;
        // SAFETY: layouts of nonzero size; every pointer is used within its
        // size and freed with its layout.
        unsafe {
            let l8 = Layout::from_size_align(10, 8).unwrap();
            let p = a.alloc(l8);
            assert_eq!(p as usize % 8, 0);
            p.write_bytes(1, 10);
            let l64 = Layout::from_size_align(100, 64).unwrap();
            let q = a.alloc(l64);
            assert_eq!(q as usize % 64, 0);
            assert!(q as usize >= p as usize + 10);
            // The last one grows where it is; an earlier one moves, with
            // its bytes.
            assert_eq!(a.realloc(q, l64, 1000), q);
            let p2 = a.realloc(p, l8, 20);
            assert_ne!(p2, p);
            assert_eq!(std::slice::from_raw_parts(p2, 10), &[1; 10]);
            // Beyond the arena: the system's memory, freed to it.
            let big = Layout::from_size_align(CAPACITY + 1, 16).unwrap();
            let b = a.alloc(big);
            assert!(!b.is_null() && !in_arena(b));
            a.dealloc(b, big);
            a.dealloc(p2, Layout::from_size_align(20, 8).unwrap());
        }
    }
}
