//! Data sets: readers, the embedded set, fetching.
